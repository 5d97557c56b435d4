/* xml.c — being written */
