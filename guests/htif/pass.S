# HTIF pass: tohost = 1, exit code 0 (QEMU -M spike, rvisor bare and under the hypervisor).
#include "htif.h"
HTIF_EXIT(0)
