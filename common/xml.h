/* xml.h — being written */
#ifndef VWS_XML_H
#define VWS_XML_H
#include <stddef.h>
struct vws_embedded_file { const char *name; const char *data; size_t size; };
extern const struct vws_embedded_file vws_embedded_schemas[];
#endif
