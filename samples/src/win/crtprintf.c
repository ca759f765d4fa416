/* printf.c through msvcrt.dll's own printf family (mingw-w64 otherwise formats with its
 * own __mingw_pformat and only hands msvcrt single characters). */
#define __USE_MINGW_ANSI_STDIO 0
#include "printf.c"
