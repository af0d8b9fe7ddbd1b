# HTIF failure with a known code: tohost = (42 << 1) | 1, exit code 42.
#include "htif.h"
HTIF_EXIT(42)
