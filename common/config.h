/* config — being written */
