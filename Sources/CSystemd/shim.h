#ifndef AURAWELL_CSystemd_H
#define AURAWELL_CSystemd_H
#include <systemd/sd-daemon.h>
#endif
