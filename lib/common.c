/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common.c: errors and their messages, policy and channel names, the clock, stream-description checks. */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------
 * Errors
 * --------------------------------------------------------------------- */

static __thread char last_error[SHMRING_ERROR_MAX];

int _shmring_fail(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return -err;
}

const char *_shmring_error(void)
{
	return last_error;
}

const char *shmring_last_error(void)
{
	return last_error;
}

const char *shmring_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0: return "success";
	case EINVAL: return "invalid argument";
	case ENOENT: return "no such channel";
	case EBUSY: return "channel already has a producer, or its reader limit";
	case EACCES: return "permission denied by the channel's producer";
	case ETIMEDOUT: return "timed out";
	case EINTR: return "interrupted";
	case EMSGSIZE: return "frame larger than the channel's slots";
	case ENOBUFS: return "no room: frame dropped, or holding the most frames allowed";
	case EBADMSG: return "corrupt or hostile shared memory";
	case EPROTO: return "protocol error (version, or a reader block that broke the rules)";
	case EOWNERDEAD: return "producer died";
	case ESHUTDOWN: return "producer closed the channel without end of stream";
	case ENODATA: return "no stream description yet";
	case ENOMEM: return "out of memory";
	default: return strerror(err < 0 ? -err : err);
	}
}

const char *shmring_policy_name(uint32_t policy)
{
	switch (policy) {
	case SHMRING_POLICY_LOSSLESS: return "lossless";
	case SHMRING_POLICY_DROP_NEW: return "drop-new";
	case SHMRING_POLICY_LIVE: return "live";
	default: return "unknown";
	}
}

int shmring_policy_from_name(const char *name)
{
	for (uint32_t i = 0; name && i <= SHMRING_POLICY_LIVE; i++)
		if (strcmp(name, shmring_policy_name(i)) == 0)
			return (int)i;
	return fail(EINVAL, "unknown flow policy '%s' (use lossless, drop-new or live)",
		    name ? name : "(null)");
}

int shmring_name_check(const char *name)
{
	return _shmring_check_name(name);
}

uint64_t shmring_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int _shmring_check_name(const char *name)
{
	if (!name || !*name)
		return fail(EINVAL, "channel name is empty");
	size_t n = strlen(name);
	if (n > SHMRING_NAME_MAX)
		return fail(EINVAL, "channel name is %zu characters long, the limit is %u", n,
			    SHMRING_NAME_MAX);
	if (name[0] == '.')
		return fail(EINVAL, "channel name '%s' must not start with '.'", name);
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return fail(EINVAL,
				    "channel name '%s' has character 0x%02x at %zu; use A-Z a-z 0-9 . _ -",
				    name, (unsigned char)ch, i);
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Time, futexes, locks
 * --------------------------------------------------------------------- */


/* ---------------------------------------------------------------------
 * Stream descriptions
 * --------------------------------------------------------------------- */

/* Raw video formats whose planes the library knows: per plane, log2 of
 * the horizontal and vertical subsampling and the bytes of one (subsampled)
 * pixel or macropixel.  Kept in step with python/shmring/_video.py. */
struct fmt_plane {
	uint8_t xs, ys, bpp;
};
struct video_format {
	const char *name;
	unsigned n_planes;
	struct fmt_plane plane[SHMRING_MAX_PLANES];
};
#define P1(b) {{0, 0, b}}
#define YUV(b, xs, ys, cb) {{0, 0, b}, {xs, ys, cb}, {xs, ys, cb}}
#define YC(b, xs, ys, cb) {{0, 0, b}, {xs, ys, cb}}
/* Tiled layouts: the stride encodes tiles, so rows cannot be counted from
 * it; only the plane offsets are checked.  A consumer that reads the tiles
 * must use GStreamer's own layout for them (shmringsrc does). */
#define TILED 0xff
#define YC_TILED {{0, TILED, 0}, {0, TILED, 0}}
static const struct video_format video_formats[] = {
	{"RGB", 1, P1(3)}, {"BGR", 1, P1(3)}, {"v308", 1, P1(3)},
	{"RGBx", 1, P1(4)}, {"BGRx", 1, P1(4)}, {"xRGB", 1, P1(4)}, {"xBGR", 1, P1(4)},
	{"RGBA", 1, P1(4)}, {"BGRA", 1, P1(4)}, {"ARGB", 1, P1(4)}, {"ABGR", 1, P1(4)},
	{"AYUV", 1, P1(4)}, {"VUYA", 1, P1(4)}, {"r210", 1, P1(4)},
	{"RGB16", 1, P1(2)}, {"BGR16", 1, P1(2)}, {"RGB15", 1, P1(2)}, {"BGR15", 1, P1(2)},
	{"GRAY8", 1, P1(1)}, {"GRAY16_LE", 1, P1(2)}, {"GRAY16_BE", 1, P1(2)},
	{"YUY2", 1, {{1, 0, 4}}}, {"UYVY", 1, {{1, 0, 4}}}, {"YVYU", 1, {{1, 0, 4}}},
	{"I420", 3, YUV(1, 1, 1, 1)}, {"YV12", 3, YUV(1, 1, 1, 1)},
	{"Y42B", 3, YUV(1, 1, 0, 1)}, {"Y444", 3, YUV(1, 0, 0, 1)},
	{"Y41B", 3, YUV(1, 2, 0, 1)}, {"YUV9", 3, YUV(1, 2, 2, 1)}, {"YVU9", 3, YUV(1, 2, 2, 1)},
	{"GBR", 3, YUV(1, 0, 0, 1)},
	{"I420_10LE", 3, YUV(2, 1, 1, 2)}, {"I420_10BE", 3, YUV(2, 1, 1, 2)},
	{"I422_10LE", 3, YUV(2, 1, 0, 2)}, {"I422_10BE", 3, YUV(2, 1, 0, 2)},
	{"Y444_10LE", 3, YUV(2, 0, 0, 2)}, {"Y444_10BE", 3, YUV(2, 0, 0, 2)},
	{"NV12", 2, YC(1, 1, 1, 2)}, {"NV21", 2, YC(1, 1, 1, 2)},
	{"NV16", 2, YC(1, 1, 0, 2)}, {"NV61", 2, YC(1, 1, 0, 2)},
	{"NV24", 2, YC(1, 0, 0, 2)}, {"P010_10LE", 2, YC(2, 1, 1, 4)},
	{"P010_10BE", 2, YC(2, 1, 1, 4)},
	{"P012_LE", 2, YC(2, 1, 1, 4)}, {"P012_BE", 2, YC(2, 1, 1, 4)},
	{"P016_LE", 2, YC(2, 1, 1, 4)}, {"P016_BE", 2, YC(2, 1, 1, 4)},
	{"I420_12LE", 3, YUV(2, 1, 1, 2)}, {"I420_12BE", 3, YUV(2, 1, 1, 2)},
	/* 10-bit pixels packed 3 in 4 bytes or 4 in 5: rows counted, row bytes not */
	{"NV12_10LE32", 2, YC(0, 1, 1, 0)}, {"NV12_10LE40", 2, YC(0, 1, 1, 0)},
	{"NV12_4L4", 2, YC_TILED}, {"NV12_32L32", 2, YC_TILED}, {"NV12_16L32S", 2, YC_TILED},
	{"NV12_64Z32", 2, YC_TILED}, {"NV12_8L128", 2, YC_TILED}, {"NV12_10BE_8L128", 2, YC_TILED},
	/* GStreamer 1.24 */
	{"NV12_10LE40_4L4", 2, YC_TILED}, {"MT2110T", 2, YC_TILED}, {"MT2110R", 2, YC_TILED},
	{"A420", 4, {{0, 0, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 1}}},
	{"GBRA", 4, {{0, 0, 1}, {0, 0, 1}, {0, 0, 1}, {0, 0, 1}}},
};
#undef P1
#undef YUV
#undef YC
#undef YC_TILED

static const struct video_format *find_format(const char *name)
{
	for (size_t i = 0; i < sizeof(video_formats) / sizeof(video_formats[0]); i++)
		if (strcmp(video_formats[i].name, name) == 0)
			return &video_formats[i];
	return NULL;
}

/* Every plane lies whole inside the frame: plane_offset + stride * rows <=
 * frame_size, and a row holds the plane's pixels.  A format not in the
 * table is checked with the full height for every plane. */
static int check_planes(const struct shmring_desc *d, uint32_t id, const char *name)
{
	const struct video_format *vf = find_format(d->format);
	if (d->n_planes && !d->frame_size)
		return fail(EBADMSG, "channel '%s': description %u: %u planes but no frame_size", name,
			    id, d->n_planes);
	if (vf && vf->n_planes != d->n_planes)
		return fail(EBADMSG, "channel '%s': description %u: format %s has %u planes, not %u",
			    name, id, vf->name, vf->n_planes, d->n_planes);
	for (unsigned i = 0; i < d->n_planes; i++) {
		unsigned ys = vf ? vf->plane[i].ys : 0, xs = vf ? vf->plane[i].xs : 0;
		uint64_t rows = ys == TILED ? 0 : ((uint64_t)d->height + (1u << ys) - 1) >> ys;
		uint64_t row_bytes = vf ? (((uint64_t)d->width + (1u << xs) - 1) >> xs) * vf->plane[i].bpp : 0;
		uint64_t bytes = (uint64_t)d->plane_stride[i] * rows;
		if (d->plane_offset[i] > d->frame_size ||
		    (rows && (d->plane_stride[i] < row_bytes || bytes > d->frame_size - d->plane_offset[i])))
			return fail(EBADMSG,
				    "channel '%s': description %u: %s plane %u (offset %llu, stride "
				    "%u, %llu rows of at least %llu bytes) does not fit the %llu-byte "
				    "frame",
				    name, id, d->format[0] ? d->format : "(no format)", i,
				    (unsigned long long)d->plane_offset[i], d->plane_stride[i],
				    (unsigned long long)rows, (unsigned long long)row_bytes,
				    (unsigned long long)d->frame_size);
	}
	return 0;
}

/* Validate a private copy of a description slot. */
int _shmring_check_desc(const struct shmring_desc *d, uint32_t id, const char *name)
{
	if (d->id != id)
		return fail(EBADMSG, "channel '%s': description slot %u holds id %u, frame names %u",
			    name, id % SHMRING_DESC_SLOTS, d->id, id);
	if (d->caps_len >= SHMRING_CAPS_MAX || d->caps[d->caps_len] != '\0' ||
	    strlen(d->caps) != d->caps_len)
		return fail(EBADMSG, "channel '%s': description %u: bad caps_len %u", name, id,
			    d->caps_len);
	if (memchr(d->format, '\0', sizeof(d->format)) == NULL)
		return fail(EBADMSG, "channel '%s': description %u: format not terminated", name, id);
	if (d->n_planes > SHMRING_MAX_PLANES)
		return fail(EBADMSG, "channel '%s': description %u: %u planes (at most %u)", name, id,
			    d->n_planes, SHMRING_MAX_PLANES);
	if (d->reserved0 || d->reserved1)
		return fail(EBADMSG, "channel '%s': description %u: reserved fields not zero", name, id);
	for (unsigned i = 0; i < sizeof(d->reserved2); i++)
		if (d->reserved2[i])
			return fail(EBADMSG, "channel '%s': description %u: reserved fields not zero",
				    name, id);
	return check_planes(d, id, name);
}

int _shmring_make_desc(struct shmring_desc *d, uint32_t id, const struct shmring_stream_info *info,
		       const char *name)
{
	if (!info || !info->caps)
		return fail(EINVAL, "stream description needs a caps string");
	size_t caps_len = strlen(info->caps);
	if (caps_len >= SHMRING_CAPS_MAX)
		return fail(EINVAL, "caps string of %zu bytes is longer than the %u-byte limit", caps_len,
			    SHMRING_CAPS_MAX - 1);
	const char *fmt = info->format ? info->format : "";
	if (strlen(fmt) >= sizeof(d->format))
		return fail(EINVAL, "format name '%s' is longer than 15 characters", fmt);
	if (info->n_planes > SHMRING_MAX_PLANES)
		return fail(EINVAL, "%u planes, at most %u", info->n_planes, SHMRING_MAX_PLANES);
	memset(d, 0, sizeof(*d));
	d->id = id;
	d->caps_len = (uint32_t)caps_len;
	memcpy(d->caps, info->caps, caps_len + 1);
	memcpy(d->format, fmt, strlen(fmt));
	d->width = info->width;
	d->height = info->height;
	d->n_planes = info->n_planes;
	d->fps_n = info->fps_n;
	d->fps_d = info->fps_d;
	d->frame_size = info->frame_size;
	for (unsigned i = 0; i < info->n_planes; i++) {
		d->plane_offset[i] = info->plane_offset[i];
		d->plane_stride[i] = info->plane_stride[i];
	}
	if (_shmring_check_desc(d, id, name) < 0) {
		char why[SHMRING_ERROR_MAX];
		snprintf(why, sizeof(why), "%s", last_error);
		return fail(EINVAL, "invalid stream description: %s", why);
	}
	return 0;
}
