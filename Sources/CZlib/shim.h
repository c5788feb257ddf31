#ifndef AURAWELL_CZlib_H
#define AURAWELL_CZlib_H
#include <zlib.h>
#endif
