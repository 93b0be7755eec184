// SPDX-License-Identifier: MIT

// Package greet: a small module stored in the view, built and tested there.
package greet

func Hello(who string) string { return "hello, " + who }
