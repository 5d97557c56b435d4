/*
 * wsaapi_build.c — compiles gSOAP's WS-Addressing plugin (shipped as source
 * in the Debian package 'gsoap', GSOAP_SHARE/plugin/wsaapi.c) against our
 * generated soapH.h, as the plugin requires.  Nothing of ours is here.
 */
#include "wsaapi.c"
