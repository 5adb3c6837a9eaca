/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* plugin.c: registers the shmring elements (shmringsink, shmringsrc). */
#include "gstshmringelements.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (shmringsink, plugin);
  ret |= GST_ELEMENT_REGISTER (shmringsrc, plugin);

  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, shmring,
    "Video transport through a shared-memory ring (libshmring)",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
