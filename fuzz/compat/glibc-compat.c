/*
 * Jazzer.js 4 ships one Linux x64 build of its libFuzzer addon, linked against glibc 2.38 and
 * GCC 13's libstdc++. It uses exactly three newer symbols; on an older system (Debian 12: glibc
 * 2.36, GCC 12) this preloaded library supplies them, and fuzz/compat/patch-verneed.py marks the
 * two version requirements weak so the loader accepts the addon. Nothing else changes.
 */
#include <stdlib.h>

/* C23 strtol/strtoul only add 0b prefixes; the addon parses libFuzzer's decimal flags. */
long __isoc23_strtol(const char* text, char** end, int base) { return strtol(text, end, base); }
unsigned long __isoc23_strtoul(const char* text, char** end, int base) {
  return strtoul(text, end, base);
}

/* GCC 13 moved iostream initialization into this call; GCC 12's libstdc++ does it itself. */
void _ZSt21ios_base_library_initv(void) {}
