#ifndef AURAWELL_CSQLite_H
#define AURAWELL_CSQLite_H
#include <sqlite3.h>
#endif
