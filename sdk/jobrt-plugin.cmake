# jobrt-plugin.cmake - build a jobrt job-handler plugin in one line.
#
#   include(/path/to/jobrt/sdk/jobrt-plugin.cmake)
#   jobrt_add_plugin(invoice_email SOURCES invoice_email.c [LIBRARIES cjson])
#
# Produces <name>.so (no "lib" prefix) with hidden visibility, so the only
# exported symbol is the `jobrt_plugin` descriptor, and links with -z defs so
# an unresolved symbol fails the build instead of the runtime's dlopen.
# Set JOBRT_INCLUDE_DIR if the jobrt headers are not beside this file.

if(NOT DEFINED JOBRT_INCLUDE_DIR)
  get_filename_component(JOBRT_INCLUDE_DIR
    "${CMAKE_CURRENT_LIST_DIR}/../include" ABSOLUTE)
endif()

function(jobrt_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIR" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "jobrt_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(ARG_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIR}")
  endif()
  target_include_directories(${name} PRIVATE "${JOBRT_INCLUDE_DIR}")
  target_compile_options(${name} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-fno-gnu-unique>)
  target_link_options(${name} PRIVATE "LINKER:-z,defs" "LINKER:--no-undefined")
  if(ARG_LIBRARIES)
    target_link_libraries(${name} PRIVATE ${ARG_LIBRARIES})
  endif()
endfunction()
