/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstshmringelements.h: element registration and the helpers both elements share. */
#ifndef GST_SHMRING_ELEMENTS_H
#define GST_SHMRING_ELEMENTS_H

#include <gst/gst.h>
#include <shmring/shmring.h>

G_BEGIN_DECLS

GST_ELEMENT_REGISTER_DECLARE (shmringsink);
GST_ELEMENT_REGISTER_DECLARE (shmringsrc);

/* GstBuffer flags that travel through the ring, and their shmring bits. */
static inline guint32
gst_shmring_flags_from_buffer (GstBuffer * buf)
{
  guint32 f = 0;

  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT))
    f |= SHMRING_FLAG_DISCONT;
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT))
    f |= SHMRING_FLAG_DELTA_UNIT;
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER))
    f |= SHMRING_FLAG_HEADER;
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_GAP))
    f |= SHMRING_FLAG_GAP;
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DROPPABLE))
    f |= SHMRING_FLAG_DROPPABLE;
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_MARKER))
    f |= SHMRING_FLAG_MARKER;
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_CORRUPTED))
    f |= SHMRING_FLAG_CORRUPTED;
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_LIVE))
    f |= SHMRING_FLAG_LIVE;
  return f;
}

static inline void
gst_shmring_flags_to_buffer (GstBuffer * buf, guint32 f)
{
  if (f & SHMRING_FLAG_DISCONT)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  if (f & SHMRING_FLAG_DELTA_UNIT)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  if (f & SHMRING_FLAG_HEADER)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_HEADER);
  if (f & SHMRING_FLAG_GAP)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_GAP);
  if (f & SHMRING_FLAG_DROPPABLE)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DROPPABLE);
  if (f & SHMRING_FLAG_MARKER)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_MARKER);
  if (f & SHMRING_FLAG_CORRUPTED)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_CORRUPTED);
  if (f & SHMRING_FLAG_LIVE)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_LIVE);
}

/* GStreamer time <-> shmring time (both ns; "none" differs). */
static inline guint64
gst_shmring_time_to_ring (GstClockTime t)
{
  return GST_CLOCK_TIME_IS_VALID (t) ? (guint64) t : SHMRING_NO_TIME;
}

static inline GstClockTime
gst_shmring_time_from_ring (guint64 t)
{
  return t == SHMRING_NO_TIME ? GST_CLOCK_TIME_NONE : (GstClockTime) t;
}

G_END_DECLS

#endif /* GST_SHMRING_ELEMENTS_H */
