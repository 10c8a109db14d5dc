# install.cmake - what `cmake --install build [--prefix P]` puts where:
#   bin/jobrt                                  the runtime and its CLI
#   include/jobrt/plugin.h                     the plugin SDK's one header
#   share/cmake/jobrt/                         find_package(jobrt): the
#                                              jobrt::plugin target and
#                                              jobrt_add_plugin()
#   share/pkgconfig/jobrt-plugin.pc            pkg-config --cflags --libs
#   share/jobrt/jobrt-plugin.map               C++ plugins' export list
#   lib/systemd/system/jobrt@.service          the unit (disabled)
# The SDK is headers and CMake code only, so its files are
# architecture-independent (share/, not lib/), and both the CMake package
# and the .pc file find the prefix from their own location: an unpacked
# package (dpkg -x) works wherever it is.
include(CMakePackageConfigHelpers)

set(JOBRT_CMAKE_PACKAGE_DIR "${CMAKE_INSTALL_DATADIR}/cmake/jobrt" CACHE STRING
    "Where the CMake package goes, relative to the prefix")
set(JOBRT_PKGCONFIG_DIR "${CMAKE_INSTALL_DATADIR}/pkgconfig" CACHE STRING
    "Where jobrt-plugin.pc goes, relative to the prefix")
set(JOBRT_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where the systemd unit goes: relative to the prefix, or absolute")
set(JOBRT_DEFAULT_PLUGIN_DIR "/var/lib/jobrt/plugins" CACHE STRING
    "The plugin directory the installed systemd unit serves")

install(TARGETS jobrt RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(FILES include/jobrt/plugin.h
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/jobrt")

# The CMake package: version check against the SDK's version (a plugin
# asking for 1.1 builds against any 1.x from 1.1 on).
set(_gen "${CMAKE_CURRENT_BINARY_DIR}/sdk-package")
configure_package_config_file(cmake/jobrt-config.cmake.in
  "${_gen}/jobrt-config.cmake"
  INSTALL_DESTINATION "${JOBRT_CMAKE_PACKAGE_DIR}"
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_BINDIR
  NO_SET_AND_CHECK_MACRO NO_CHECK_REQUIRED_COMPONENTS_MACRO)
write_basic_package_version_file("${_gen}/jobrt-config-version.cmake"
  VERSION "${JOBRT_SDK_VERSION}" COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)
install(FILES "${_gen}/jobrt-config.cmake"
              "${_gen}/jobrt-config-version.cmake"
              sdk/jobrt-plugin.cmake sdk/jobrt-build-id.cmake
        DESTINATION "${JOBRT_CMAKE_PACKAGE_DIR}")

# pkg-config: prefix is found from the .pc file's own directory, so the
# .pc must go under the prefix; an include or data directory given as an
# absolute path is written as it is (that file no longer moves with it).
if(IS_ABSOLUTE "${JOBRT_PKGCONFIG_DIR}")
  message(FATAL_ERROR "JOBRT_PKGCONFIG_DIR must be relative to the prefix "
          "(jobrt-plugin.pc finds the prefix from its own place), got "
          "${JOBRT_PKGCONFIG_DIR}")
endif()
file(RELATIVE_PATH _pc_to_prefix "/p/${JOBRT_PKGCONFIG_DIR}" "/p")
string(REGEX REPLACE "/$" "" _pc_to_prefix "${_pc_to_prefix}")
set(JOBRT_PC_PREFIX "\${pcfiledir}/${_pc_to_prefix}")
foreach(_d INCLUDEDIR DATADIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_d}}")
    set(JOBRT_PC_${_d} "${CMAKE_INSTALL_${_d}}")
  else()
    set(JOBRT_PC_${_d} "\${prefix}/${CMAKE_INSTALL_${_d}}")
  endif()
endforeach()
string(REGEX MATCH "^[0-9]+\\.[0-9]+" JOBRT_SDK_ABI "${JOBRT_SDK_VERSION}")
configure_file(cmake/jobrt-plugin.pc.in "${_gen}/jobrt-plugin.pc" @ONLY)
install(FILES "${_gen}/jobrt-plugin.pc" DESTINATION "${JOBRT_PKGCONFIG_DIR}")
# The export map C++ plugins link with outside CMake (the .pc's cxxlibs).
install(FILES sdk/jobrt-plugin.map DESTINATION "${CMAKE_INSTALL_DATADIR}/jobrt")

# The systemd unit, with this install's paths in ExecStart: written at
# install time, as `cmake --install --prefix P` picks the prefix then, into
# a scratch directory of that destination's own (two installs of one build
# into different places at once, as tests do, must not swap units).
set(_unit_src "${CMAKE_CURRENT_SOURCE_DIR}/examples/systemd/jobrt@.service")
install(CODE "
  set(_bindir \"${CMAKE_INSTALL_BINDIR}\")
  if(NOT IS_ABSOLUTE \"\${_bindir}\")
    set(_bindir \"\${CMAKE_INSTALL_PREFIX}/\${_bindir}\")
  endif()
  set(_unitdir \"${JOBRT_SYSTEMD_UNIT_DIR}\")
  if(NOT IS_ABSOLUTE \"\${_unitdir}\")
    set(_unitdir \"\${CMAKE_INSTALL_PREFIX}/\${_unitdir}\")
  endif()
  file(READ \"${_unit_src}\" _unit)
  string(REPLACE /usr/local/bin/jobrt \"\${_bindir}/jobrt\" _unit \"\${_unit}\")
  string(REPLACE /var/lib/jobrt/plugins \"${JOBRT_DEFAULT_PLUGIN_DIR}\"
    _unit \"\${_unit}\")
  string(MD5 _where \"\$ENV{DESTDIR}\${_unitdir}\")
  set(_scratch \"${_gen}/unit-\${_where}\")
  file(WRITE \"\${_scratch}/jobrt@.service\" \"\${_unit}\")
  file(INSTALL \"\${_scratch}/jobrt@.service\" DESTINATION \"\${_unitdir}\"
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  file(REMOVE_RECURSE \"\${_scratch}\")
")
