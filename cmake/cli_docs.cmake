# cli_docs.cmake - the command line's man pages and bash completion, and
# where `cmake --install` puts them. Both come from the --help text, the
# one description of the commands: the pages are generated from the built
# binary's --help (cmake/man_pages.cmake, cmake/help2roff.awk) as part of
# the default build; the completion (contrib/completion/jobrt.bash) reads
# `jobrt --help` and `jobrt CMD --help` when it first completes a command.
# tests/e2e/man_pages.sh and completion.sh check both against --help.
include(GNUInstallDirs)

find_program(JOBRT_AWK NAMES mawk awk gawk REQUIRED)

set(JOBRT_MAN_DIR "${CMAKE_BINARY_DIR}/man")
set(JOBRT_MAN_STAMP "${JOBRT_MAN_DIR}/pages.stamp")
add_custom_command(OUTPUT "${JOBRT_MAN_STAMP}"
  COMMAND "${CMAKE_COMMAND}" "-DJOBRT=$<TARGET_FILE:jobrt>"
    "-DAWK=${JOBRT_AWK}"
    "-DCONVERTER=${CMAKE_CURRENT_SOURCE_DIR}/cmake/help2roff.awk"
    "-DOUT_DIR=${JOBRT_MAN_DIR}" "-DSTAMP=${JOBRT_MAN_STAMP}"
    "-DFALLBACK_VERSION=${PROJECT_VERSION}"
    -P "${CMAKE_CURRENT_SOURCE_DIR}/cmake/man_pages.cmake"
  # naming the jobrt target reruns this whenever the binary is relinked
  DEPENDS jobrt "${CMAKE_CURRENT_SOURCE_DIR}/cmake/help2roff.awk"
    "${CMAKE_CURRENT_SOURCE_DIR}/cmake/man_pages.cmake"
  COMMENT "Generating the man pages from jobrt --help"
  VERBATIM)
add_custom_target(jobrt_man ALL DEPENDS "${JOBRT_MAN_STAMP}")

# The pages are whatever the binary lists (jobrt.1, jobrt-CMD.1): a
# directory install, so that a new command needs no edit here.
install(DIRECTORY "${JOBRT_MAN_DIR}/"
  DESTINATION "${CMAKE_INSTALL_MANDIR}/man1"
  FILES_MATCHING PATTERN "*.1"
  PATTERN "help" EXCLUDE)
install(FILES "${CMAKE_CURRENT_SOURCE_DIR}/contrib/completion/jobrt.bash"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
  RENAME jobrt)
