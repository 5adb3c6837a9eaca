/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstshmringwriter.h: the sink's shared producer handle and its buffer pool of slots. */
#ifndef GST_SHMRING_WRITER_H
#define GST_SHMRING_WRITER_H

#include <gst/gst.h>
#include <gst/video/video.h>
#include <shmring/shmring.h>

G_BEGIN_DECLS

/*
 * GstShmringWriter wraps one shmring_producer so that the sink's streaming
 * thread, an upstream thread acquiring buffers from the pool and whatever
 * thread frees an unrendered pool buffer can all use it: every library call
 * is made under one mutex.  The producer is closed once the sink has
 * stopped and no reservation is outstanding.
 */
typedef struct _GstShmringWriter GstShmringWriter;

GstShmringWriter *gst_shmring_writer_new (shmring_producer * p);
GstShmringWriter *gst_shmring_writer_ref (GstShmringWriter * w);
void gst_shmring_writer_unref (GstShmringWriter * w);
/* Close the producer now, or when the last reservation is given back. */
void gst_shmring_writer_stop (GstShmringWriter * w);
void gst_shmring_writer_interrupt (GstShmringWriter * w);
void gst_shmring_writer_resume (GstShmringWriter * w);
/* Run fn (p, data) under the writer lock; -ESHUTDOWN once closed. */
int gst_shmring_writer_call (GstShmringWriter * w,
    int (*fn) (shmring_producer * p, gpointer data), gpointer data);
/* Reserve a slot for size bytes and wrap them in a GstMemory.  Returns 0
 * with *mem set, -EAGAIN if max_outstanding reservations are already out,
 * or the library's negative code (*mem NULL): -ENOBUFS means the library
 * dropped the frame and counted it. */
int gst_shmring_writer_reserve_memory (GstShmringWriter * w, gsize size,
    gint64 timeout_ns, guint max_outstanding, GstMemory ** mem);
/* If buf is exactly one not yet committed slot of this writer,
 * commit it and return 0 (or the library's code); else return 1. */
int gst_shmring_writer_try_commit (GstShmringWriter * w, GstBuffer * buf,
    const struct shmring_meta *meta);
/* TRUE if buf is exactly one memory the pool handed out for a frame the
 * library had already dropped (and counted) when it found no room. */
gboolean gst_shmring_writer_is_dropped (GstBuffer * buf);
/* Number of frames committed without a copy, since the writer was made. */
guint64 gst_shmring_writer_zero_copy_frames (GstShmringWriter * w);

#define GST_TYPE_SHMRING_POOL (gst_shmring_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstShmringPool, gst_shmring_pool, GST, SHMRING_POOL,
    GstBufferPool);

/* A pool whose buffers are reserved slots.  Reservations are limited
 * to max_outstanding at a time; beyond that it hands out system memory
 * (copied once at render).  When the library refuses a reservation with
 * -ENOBUFS (it dropped the frame: a description slot still in use), the
 * pool hands out system memory marked as dropped, which render() discards,
 * so each lost frame is counted once. */
GstBufferPool *gst_shmring_pool_new (GstShmringWriter * w,
    gint64 timeout_ns, guint max_outstanding);

G_END_DECLS

#endif /* GST_SHMRING_WRITER_H */
