#!/bin/bash
# SPDX-License-Identifier: MIT
# inodes.sh - a copy-up keeps the view inode number of every file type
# (issue 13 item 9): symlinks and fifos as well as files, whether the copy
# is made by touch -h, chown -h, a rename or a hard link, over an archive
# and over a host directory, and a later run over the same upper reads the
# same numbers back.  The store that holds them is not in the view and
# not in an export.
. "$(dirname "$0")/lib.sh"

mk_lower() { # DIR: a file, a symlink, a fifo and a directory to move them to
	mkdir -p "$1/d"
	printf 'f\n' > "$1/file"
	ln -s file "$1/sym"
	ln -s nowhere "$1/sym2"
	ln -s file "$1/sym3"
	ln -s file "$1/sym4"
	mkfifo "$1/fifo" "$1/fifo2"
	[ "$(id -u)" = 0 ] && mknod "$1/null" c 1 3
	return 0
}
export MNT
mk_lower "$T/low"
tar -C "$T/low" -cf "$T/low.tar" .

# The view's inode numbers of the entries, by name, in one process.
inos() {
	stat -c '%n %i' "$MNT/sym" "$MNT/sym2" "$MNT/sym3" "$MNT/sym4" "$MNT/fifo" \
		"$MNT/fifo2" "$MNT/file"
}
# The same after the copy-ups, under their new names.
inos_after() {
	stat -c '%i' "$MNT/sym" "$MNT/d/sym2" "$MNT/sym3" "$MNT/sym4" "$MNT/fifo" \
		"$MNT/d/fifo2" "$MNT/file" | paste -sd' '
}
copy_ups() {
	touch -h -d @1600000000 "$MNT/sym" &&
	chown -h "$(id -u):$(id -g)" "$MNT/fifo" &&
	mv "$MNT/sym2" "$MNT/d/sym2" &&
	mv "$MNT/fifo2" "$MNT/d/fifo2" &&
	ln "$MNT/sym3" "$MNT/d/sym3.link" &&
	touch "$MNT/file"
}

for kind in tar dir; do
	[ $kind = tar ] && LOWER=$T/low.tar || LOWER=$T/low
	UPPER=$T/up-$kind
	mkdir -p "$UPPER"
	before=$(shim bash -c "$(declare -f inos); inos" | awk '{print $2}' | paste -sd' ')
	after=$(shim bash -c "$(declare -f copy_ups inos_after); copy_ups && inos_after")
	case $before in *[0-9]\ *[0-9]\ *[0-9]\ *[0-9]\ *[0-9]\ *[0-9]\ *[0-9]) ;;
	*) not_ok "$kind: the view shows the lower's entries" "$before" ;; esac
	check_eq "$kind: a copy-up keeps the inode of symlinks, fifos, files" "$before" "$after"
	# A device node (making one needs root).
	if [ "$(id -u)" = 0 ]; then
		dev=$(shim bash -c 'stat -c %i "$MNT/null"; chown -h 1:1 "$MNT/null" && stat -c %i "$MNT/null"')
		check_eq "$kind: a copy-up keeps the inode of a device node" \
			"$(echo "$dev" | head -1)" "$(echo "$dev" | sed -n 2p)"
		check_eq "$kind: ... and it is in the upper" "character special file" \
			"$(stat -c %F "$UPPER/null" 2>&1)"
		check_eq "$kind: ... and the next run reads it back" "$(echo "$dev" | head -1)" \
			"$(shim stat -c %i "$MNT/null")"
	else
		skip "$kind: a copy-up keeps the inode of a device node" "making one needs root"
	fi
	# The copies are in the upper (the check above saw copied entries).
	got=$(cd "$UPPER" && stat -c '%F %n' sym fifo d/sym2 d/fifo2 sym3 d/sym3.link 2>&1)
	check_eq "$kind: the entries were copied up" \
"symbolic link sym
fifo fifo
symbolic link d/sym2
fifo d/fifo2
symbolic link sym3
symbolic link d/sym3.link" "$got"
	link_ino=$(shim stat -c %i "$MNT/d/sym3.link")
	check_eq "$kind: a hard link to a copied-up symlink has its inode" \
		"$(echo "$before" | cut -d' ' -f3)" "$link_ino"
	again=$(shim bash -c "$(declare -f inos_after); inos_after")
	check_eq "$kind: a second run over the same upper reads the same numbers" "$before" "$again"
	# The store is the layer's: not listed, not found, not exported.
	check_eq "$kind: the view lists no store" "" \
		"$(shim ls -a "$MNT" | grep -F '.wh.')"
	check_eq "$kind: the store's name is not found in the view" "no" \
		"$(shim bash -c '[ -e "$MNT"/.wh..wh..layerfs-xattr ] && echo yes || echo no')"
	# Without the lowers, diff tells a copy from a new entry by the origin.
	check_eq "$kind: diff without the lowers: copied-up symlinks and fifos are C" \
"C fifo
C sym
C sym3" "$("$LAYERFS" diff "$UPPER" | grep -E '^[AC] (sym|fifo|sym3)$' | LC_ALL=C sort)"
	"$LAYERFS" export "$UPPER" -o "$T/exp-$kind.tar" 2>&1
	want=$(printf '%s\n' .wh.fifo2 .wh.sym2 d/ d/fifo2 d/sym2 d/sym3.link fifo file \
		"$([ "$(id -u)" = 0 ] && echo null)" sym sym3 | grep .)
	check_eq "$kind: the export holds only the changes" "$want" \
		"$(tar -tf "$T/exp-$kind.tar" | sed 's|^\./||' | grep . | LC_ALL=C sort)"
	# Removing the last name drops the record.
	n_rec=$(ls "$UPPER"/.wh..wh..layerfs-xattr | wc -l)
	shim rm "$MNT/sym"
	check_eq "$kind: removing a copied-up symlink drops its record" "$((n_rec - 1))" \
		"$(ls "$UPPER"/.wh..wh..layerfs-xattr | wc -l)"
done
finish
