/*
 * version.h - jobrt's own version, for `jobrt --version`, logs and the
 * jobrt_build_info metric.
 */
#ifndef JOBRT_VERSION_H
#define JOBRT_VERSION_H

#define JOBRT_VERSION "0.1.0"

#endif
