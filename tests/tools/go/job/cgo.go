// SPDX-License-Identifier: MIT
//go:build cgo

// With cgo the program is linked with libc (a dynamic executable that
// still makes its own system calls): the case the shim alone misses.
package main

// static int cgo_one(void) { return 1; }
import "C"

var _ = C.cgo_one
