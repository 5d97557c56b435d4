/* xstime — being written */
