/* uuid — being written */
