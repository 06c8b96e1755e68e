#!/bin/sh
# meson install step: puts SRC at DIR/vigil.conf (under $DESTDIR), keeping an existing file.
set -eu
src=$1
dir=${DESTDIR:-}$2
mkdir -p "$dir"
if [ -e "$dir/vigil.conf" ]; then
	install -m 0644 "$src" "$dir/vigil.conf.new"
	echo "Kept $dir/vigil.conf; the new default is $dir/vigil.conf.new"
else
	install -m 0644 "$src" "$dir/vigil.conf"
	echo "Installing $src to $dir/vigil.conf"
fi
