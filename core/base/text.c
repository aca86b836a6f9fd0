/* text.c: byte offset <-> line/column conversion (see text.h). Being written. */
#include "core/base/text.h"
