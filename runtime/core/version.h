/*
 * version.h - jobrt's own version (semantic versioning), for `jobrt
 * version`, logs and the jobrt_build_info metric. The one place it is
 * written: CMakeLists.txt reads it from here for project() and the
 * installed packages. The SDK's version is JOBRT_SDK_VERSION in
 * include/jobrt/plugin.h; the wire format's is JOBRT_WIRE_VERSION below.
 */
#ifndef JOBRT_VERSION_H
#define JOBRT_VERSION_H

#define JOBRT_VERSION "0.2.0"

/* The wire format (docs/protocol.md) this runtime reads and writes: an
 * entry whose `wire` field names a higher version is dead-lettered as
 * invalid_envelope, never misread. */
#define JOBRT_WIRE_VERSION 1

/* The lowest ABI minor of JOBRT_ABI_MAJOR whose plugins load (1.0). */
#define JOBRT_ABI_MINOR_OLDEST 0

#endif
