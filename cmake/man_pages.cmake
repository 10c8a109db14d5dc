# man_pages.cmake - writes the man pages from the built binary's --help
# (cmake -P, run by cmake/cli_docs.cmake after jobrt is built):
# jobrt.1 from `jobrt --help` and jobrt-CMD.1 from `jobrt CMD --help` for
# every command that `jobrt --help` lists, so neither the pages nor the
# list of them can drift from the binary.
#
#   cmake -DJOBRT=path/to/jobrt -DAWK=awk -DCONVERTER=help2roff.awk
#         -DOUT_DIR=dir -DSTAMP=file -DFALLBACK_VERSION=x.y.z
#         -P man_pages.cmake
# Date: today (UTC), or SOURCE_DATE_EPOCH's for a reproducible build.
cmake_minimum_required(VERSION 3.18)

foreach(var JOBRT AWK CONVERTER OUT_DIR STAMP FALLBACK_VERSION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "man_pages.cmake: -D${var}=... is required")
  endif()
endforeach()

# run_help(OUT_FILE ARGS...): `jobrt ARGS` into OUT_FILE; it must exit 0.
function(run_help out_file)
  execute_process(COMMAND "${JOBRT}" ${ARGN}
    OUTPUT_FILE "${out_file}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "man_pages.cmake: 'jobrt ${ARGN}' exited ${rc}")
  endif()
endfunction()

set(help_dir "${OUT_DIR}/help")
file(MAKE_DIRECTORY "${help_dir}")
file(GLOB stale "${OUT_DIR}/*.1" "${help_dir}/*.txt")
if(stale)
  file(REMOVE ${stale})
endif()

# The version the binary reports ("jobrt 0.1.0 ..."), else the project's.
execute_process(COMMAND "${JOBRT}" --version OUTPUT_VARIABLE version_line
  RESULT_VARIABLE rc)
if(rc EQUAL 0 AND version_line MATCHES "^jobrt ([0-9][^ \n]*)")
  set(version "${CMAKE_MATCH_1}")
else()
  set(version "${FALLBACK_VERSION}")
endif()
string(TIMESTAMP date "%Y-%m-%d" UTC)

set(top "${help_dir}/jobrt.txt")
run_help("${top}" --help)
execute_process(COMMAND "${AWK}" -v mode=commands -f "${CONVERTER}" "${top}"
  OUTPUT_VARIABLE names RESULT_VARIABLE rc)
string(REGEX MATCHALL "[^\n]+" commands "${names}")
if(NOT rc EQUAL 0 OR NOT commands)
  message(FATAL_ERROR "man_pages.cmake: no Commands: in 'jobrt --help'")
endif()

# convert(HELP_FILE CMD PAGE): HELP_FILE (CMD's help; "" for jobrt's) -> PAGE
function(convert help_file cmd page)
  execute_process(COMMAND "${AWK}" -v "top=${top}" -v "cmd=${cmd}"
      -v "version=${version}" -v "date=${date}" -f "${CONVERTER}"
      "${help_file}"
    OUTPUT_FILE "${page}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    file(REMOVE "${page}")
    message(FATAL_ERROR "man_pages.cmake: could not convert ${help_file}")
  endif()
endfunction()

convert("${top}" "" "${OUT_DIR}/jobrt.1")
foreach(cmd IN LISTS commands)
  run_help("${help_dir}/${cmd}.txt" ${cmd} --help)
  convert("${help_dir}/${cmd}.txt" "${cmd}" "${OUT_DIR}/jobrt-${cmd}.1")
endforeach()
file(WRITE "${STAMP}" "${commands}\n")
