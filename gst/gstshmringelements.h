/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstshmringelements.h: element registration and the helpers both elements share. */
#ifndef GST_SHMRING_ELEMENTS_H
#define GST_SHMRING_ELEMENTS_H

#include <gst/gst.h>
#include <shmring/shmring.h>

#include <grp.h>
#include <pwd.h>

G_BEGIN_DECLS

GST_ELEMENT_REGISTER_DECLARE (shmringsink);
GST_ELEMENT_REGISTER_DECLARE (shmringsrc);

/* GstBuffer flags that travel with each frame, and their shmring bits. */
static const struct
{
  GstBufferFlags gst;
  guint32 ring;
} gst_shmring_flag_map[] = {
  {GST_BUFFER_FLAG_DISCONT, SHMRING_FLAG_DISCONT},
  {GST_BUFFER_FLAG_DELTA_UNIT, SHMRING_FLAG_DELTA_UNIT},
  {GST_BUFFER_FLAG_HEADER, SHMRING_FLAG_HEADER},
  {GST_BUFFER_FLAG_GAP, SHMRING_FLAG_GAP},
  {GST_BUFFER_FLAG_DROPPABLE, SHMRING_FLAG_DROPPABLE},
  {GST_BUFFER_FLAG_MARKER, SHMRING_FLAG_MARKER},
  {GST_BUFFER_FLAG_CORRUPTED, SHMRING_FLAG_CORRUPTED},
  {GST_BUFFER_FLAG_LIVE, SHMRING_FLAG_LIVE},
};

static inline guint32
gst_shmring_flags_from_buffer (GstBuffer * buf)
{
  guint32 f = 0;

  for (guint i = 0; i < G_N_ELEMENTS (gst_shmring_flag_map); i++)
    if (GST_BUFFER_FLAG_IS_SET (buf, gst_shmring_flag_map[i].gst))
      f |= gst_shmring_flag_map[i].ring;
  return f;
}

static inline void
gst_shmring_flags_to_buffer (GstBuffer * buf, guint32 f)
{
  for (guint i = 0; i < G_N_ELEMENTS (gst_shmring_flag_map); i++)
    if (f & gst_shmring_flag_map[i].ring)
      GST_BUFFER_FLAG_SET (buf, gst_shmring_flag_map[i].gst);
}

/* With the object lock held: TRUE, after a warning, if pspec may only
 * change in NULL or READY and the element is past READY. */
static inline gboolean
gst_shmring_property_frozen (GstElement * element, GParamSpec * pspec)
{
  if (!(pspec->flags & GST_PARAM_MUTABLE_READY) ||
      GST_STATE (element) <= GST_STATE_READY)
    return FALSE;
  g_warning ("%s: property '%s' can only be changed in the NULL or READY "
      "state", GST_OBJECT_NAME (element), pspec->name);
  return TRUE;
}

/* The "channel" property's setter, shared by both elements (object lock
 * held): a bad name warns here and fails the start with its reason. */
static inline void
gst_shmring_set_channel (GstDebugCategory * cat, GstElement * element,
    gchar ** channel, const GValue * value)
{
  g_free (*channel);
  *channel = g_value_dup_string (value);
  if (*channel && shmring_name_check (*channel) < 0)
    GST_CAT_WARNING_OBJECT (cat, element, "invalid channel name: %s",
        shmring_last_error ());
}

/* A user or group setting (share-user, producer-group, ...): a name or
 * a numeric id.  FALSE if neither. */
static inline gboolean
gst_shmring_parse_id (const gchar * s, gboolean group, guint32 * id)
{
  gchar *end = NULL;
  guint64 v;

  if (s == NULL || *s == '\0')
    return FALSE;
  v = g_ascii_strtoull (s, &end, 10);
  if (end && *end == '\0' && v < G_MAXUINT32) {
    *id = (guint32) v;
    return TRUE;
  }
  if (group) {
    struct group *gr = getgrnam (s);

    if (gr)
      *id = gr->gr_gid;
    return gr != NULL;
  } else {
    struct passwd *pw = getpwnam (s);

    if (pw)
      *id = pw->pw_uid;
    return pw != NULL;
  }
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
