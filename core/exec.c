/* SPDX-License-Identifier: MIT */
/*
 * exec.c - what kind of program a file holds, from its first bytes: the
 * one place that tells a program the shim reaches (a dynamic program of
 * this system's C library, which loads liblayerfs.so) from one that makes
 * its own system calls and must be supervised (see README, "Programs
 * that bypass libc").
 */
#define _GNU_SOURCE
#include "layerfs.h"

#include <elf.h>
#include <string.h>

/* Does the PT_NOTE segment [off, off + size) of head hold Go's build ID? */
static bool exec_go_note(const unsigned char *head, size_t n, size_t off, size_t size)
{
	if (off > n || size > n - off)
		return false;
	for (size_t p = off; p + sizeof(Elf64_Nhdr) <= off + size;) {
		const Elf64_Nhdr *nh = (const Elf64_Nhdr *)(head + p);
		size_t name = p + sizeof(*nh), desc = name + ((nh->n_namesz + 3) & ~3u);
		size_t next = desc + ((nh->n_descsz + 3) & ~3u);
		if (next > off + size || next <= p)
			return false;
		/* Go's linker writes the name as "Go" padded to 4 bytes. */
		if ((nh->n_namesz == 3 || nh->n_namesz == 4) && nh->n_type == 4 &&
		    !memcmp(head + name, "Go", 3))
			return true;
		p = next;
	}
	return false;
}

int lyr_exec_kind(const unsigned char *head, size_t n, const char **why)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)head;
	const char *own = NULL;
	bool interp = false;

	if (n >= 2 && head[0] == '#' && head[1] == '!')
		return LYR_EXEC_SCRIPT;
	if (n < SELFMAG || memcmp(head, ELFMAG, SELFMAG) != 0)
		return LYR_EXEC_UNKNOWN;
	if (n < sizeof(*eh) || head[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64) {
		own = "a program for another architecture or word size";
		goto out;
	}
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return LYR_EXEC_UNKNOWN;
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return LYR_EXEC_UNKNOWN;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		size_t off = eh->e_phoff + (size_t)i * sizeof(Elf64_Phdr);
		if (off + sizeof(Elf64_Phdr) > n)
			return LYR_EXEC_UNKNOWN; /* headers beyond what was read */
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(head + off);
		if (ph->p_type == PT_NOTE && exec_go_note(head, n, ph->p_offset, ph->p_filesz))
			own = "a Go program";
		if (ph->p_type != PT_INTERP)
			continue;
		interp = true;
		/* Any path to glibc's x86-64 loader is glibc. */
		const char *s = (const char *)head + ph->p_offset;
		size_t len = ph->p_filesz;
		if (ph->p_offset > n || len > n - ph->p_offset || !len || s[len - 1])
			return LYR_EXEC_UNKNOWN;
		const char *base = strrchr(s, '/');
		if (strcmp(base ? base + 1 : s, "ld-linux-x86-64.so.2") && !own)
			own = "a program for another C library's loader";
	}
	if (!interp && !own)
		own = "statically linked";
out:
	if (why)
		*why = own;
	return own ? LYR_EXEC_OWN : LYR_EXEC_LIBC;
}
