/* json.c: the position-aware, error-tolerant JSON reader (see json.h). Being written. */
#include "core/base/json.h"
