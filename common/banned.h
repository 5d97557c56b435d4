/*
 * banned.h — functions that must not be used in vws (after git's banned.h).
 *
 * Included last by internal.h in every vws source file, so that a use of one
 * of these is a compile error that names the reason.  Use instead:
 *   strcpy/strncpy/strcat/strncat -> vws_strlcpy() or struct vws_buf
 *   sprintf/vsprintf              -> snprintf() or vws_buf_addf()
 *   strtok                        -> strtok_r() or a hand-written scanner
 *   gmtime/localtime/ctime/asctime (static buffers) -> the _r variants
 *   gets                          -> fgets() / getline()
 *   atoi/atol (no error check)    -> vws_parse_i64()
 */
#ifndef VWS_BANNED_H
#define VWS_BANNED_H

#define VWS_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) VWS_BANNED(strcpy)
#undef strncpy
#define strncpy(x, y, n) VWS_BANNED(strncpy)
#undef strcat
#define strcat(x, y) VWS_BANNED(strcat)
#undef strncat
#define strncat(x, y, n) VWS_BANNED(strncat)
#undef sprintf
#define sprintf(...) VWS_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) VWS_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) VWS_BANNED(strtok)
#undef gmtime
#define gmtime(t) VWS_BANNED(gmtime)
#undef localtime
#define localtime(t) VWS_BANNED(localtime)
#undef ctime
#define ctime(t) VWS_BANNED(ctime)
#undef asctime
#define asctime(t) VWS_BANNED(asctime)
#undef gets
#define gets(s) VWS_BANNED(gets)
#undef atoi
#define atoi(s) VWS_BANNED(atoi)
#undef atol
#define atol(s) VWS_BANNED(atol)

#endif /* VWS_BANNED_H */
