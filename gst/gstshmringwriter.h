/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstshmringwriter.h: the sink's shared producer handle and its buffer pool of slots. */
#ifndef GST_SHMRING_WRITER_H
#define GST_SHMRING_WRITER_H

#include <gst/gst.h>
#include <gst/video/video.h>
#include <shmring/shmring.h>

G_BEGIN_DECLS

/*
 * GstShmringWriter wraps one shmring_producer for the sink's streaming
 * thread, the upstream threads that take buffers from its pool and
 * whatever thread frees a pool buffer.  It alone decides how a buffer
 * reaches a slot and counts the slots that are out:
 *
 * - The pool lends at most max_lent slots at a time (the producer's
 *   max_reserved less one).  An acquire beyond that waits until one comes
 *   back (backpressure, as any bounded pool), unless every slot out is
 *   already published and held elsewhere (then system memory at once), and
 *   ends at once when the pool is flushing.
 * - Render publishes a lent slot in place (its lossless wait for room
 *   happens there, interruptible by the sink's unlock); any other buffer
 *   is copied into the one reservation the pool can never take.
 * - A published lent slot stays pinned until its memory is freed, so a
 *   buffer upstream still reads is never rewritten.
 *
 * The producer is closed once the sink has stopped and every lent slot is
 * back.
 */
typedef struct _GstShmringWriter GstShmringWriter;

GstShmringWriter *gst_shmring_writer_new (shmring_producer * p,
    guint max_lent);
GstShmringWriter *gst_shmring_writer_ref (GstShmringWriter * w);
void gst_shmring_writer_unref (GstShmringWriter * w);
/* Close the producer now, or when the last lent slot is given back;
 * acquires waiting in its pools end. */
void gst_shmring_writer_stop (GstShmringWriter * w);
/* End (and resume) the library's waits: the sink's unlock. */
void gst_shmring_writer_interrupt (GstShmringWriter * w);
void gst_shmring_writer_resume (GstShmringWriter * w);
/* Run fn (p, data) under the writer lock; -ESHUTDOWN once closed. */
int gst_shmring_writer_call (GstShmringWriter * w,
    int (*fn) (shmring_producer * p, gpointer data), gpointer data);
/* Publish buf: 0 if it was a lent slot of this writer, committed in
 * place; 1 if copied into a slot (with relayout's layout if non-NULL);
 * else the library's negative code (-EINTR: the sink's unlock). */
int gst_shmring_writer_publish (GstShmringWriter * w, GstBuffer * buf,
    const struct shmring_meta *meta, const GstVideoInfo * relayout);
/* TRUE if buf is exactly one memory the pool handed out for a frame the
 * library had already dropped (and counted) when it found no room. */
gboolean gst_shmring_writer_is_dropped (GstBuffer * buf);
/* Number of frames committed without a copy, since the writer was made. */
guint64 gst_shmring_writer_zero_copy_frames (GstShmringWriter * w);
/* The most slots its pools lend at once. */
guint gst_shmring_writer_max_lent (GstShmringWriter * w);

#define GST_TYPE_SHMRING_POOL (gst_shmring_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstShmringPool, gst_shmring_pool, GST, SHMRING_POOL,
    GstBufferPool);

/* A pool whose buffers are slots lent by w (see above).  When the library
 * refuses a slot with -ENOBUFS (it dropped the frame: a description slot
 * still in use), the pool hands out system memory marked as dropped, which
 * render() discards, so each lost frame is counted once. */
GstBufferPool *gst_shmring_pool_new (GstShmringWriter * w);

G_END_DECLS

#endif /* GST_SHMRING_WRITER_H */
