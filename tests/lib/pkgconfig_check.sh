#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# pkgconfig_check.sh: a program built with only `pkg-config shmring` flags creates and reads a channel.
# usage: pkgconfig_check.sh BUILD_DIR CC
set -eu
build=$1
cc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/main.c" <<'C'
#include <shmring/shmring.h>
#include <stdio.h>
#include <unistd.h>
int main(void)
{
	char name[64];
	snprintf(name, sizeof name, "t-pkgconfig-%d", (int)getpid());
	shmring_producer *p;
	shmring_consumer *c;
	struct shmring_frame f;
	struct shmring_stream_info info = {.caps = "application/x-test"};
	if (shmring_producer_create(name, NULL, &p) < 0 || shmring_producer_set_stream(p, &info) < 0 ||
	    shmring_consumer_attach(name, NULL, 0, &c) < 0 ||
	    shmring_producer_write(p, "hello", 5, NULL, 0) < 0) {
		fprintf(stderr, "%s\n", shmring_last_error());
		return 1;
	}
	int rc = shmring_consumer_next(c, &f, 0, 0);
	int ok = rc == 1 && f.size == 5 && f.seq == 0;
	shmring_consumer_release(c, &f);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return ok ? 0 : 1;
}
C
export PKG_CONFIG_PATH="$build/meson-uninstalled"
# shellcheck disable=SC2046
"$cc" -o "$tmp/main" "$tmp/main.c" $(pkg-config --cflags --libs shmring-uninstalled)
LD_LIBRARY_PATH="$build/lib" "$tmp/main"
echo "built with: pkg-config --cflags --libs shmring"
