# jobrt-plugin.cmake - build a jobrt job-handler plugin in one line. It
# comes with the installed SDK, so a plugin project needs only
#
#   find_package(jobrt 1.1 REQUIRED)   # SDK 1.1 or a later 1.x
#   jobrt_add_plugin(invoice_email SOURCES invoice_email.c [LIBRARIES cjson])
#
# (jobrt's own tree includes this file directly.) Produces <name>.so (no
# "lib" prefix) that links jobrt::plugin (the SDK's headers), with hidden
# visibility, so the only exported symbol is the `jobrt_plugin`
# descriptor, and links with -z defs so an unresolved symbol fails the
# build instead of the runtime's dlopen. C++ sources get -fno-gnu-unique
# with g++ (a STB_GNU_UNIQUE symbol would pin the plugin in memory, so a
# worker could never reload it) and link with a version script that
# exports `jobrt_plugin` alone (std:: templates have default visibility);
# the project must enable CXX (project(... LANGUAGES C CXX)) for C++
# sources.
#
# Build id: every source is compiled with a generated header force-included
# that defines JOBRT_BUILD_ID as "src-<12 hex>", the start of a SHA-256 of
# the target's name, its compile definitions (including those added after
# this call) and the contents of its SOURCES, so `.build_id =
# JOBRT_BUILD_ID` tells builds apart: editing a source or adding a -D gives
# a new id, and the same sources give the same id in any checkout (paths
# and the time are not hashed; headers count only if listed in SOURCES;
# compiler flags do not count). A JOBRT_BUILD_ID you define yourself (e.g.
# target_compile_definitions(t PRIVATE JOBRT_BUILD_ID="${GIT_SHA}")) wins.
#
# JOBRT_INCLUDE_DIR is the directory that holds jobrt/plugin.h: set by the
# installed package (jobrt-config.cmake), else the include/ beside sdk/.

if(NOT DEFINED JOBRT_INCLUDE_DIR)
  get_filename_component(JOBRT_INCLUDE_DIR
    "${CMAKE_CURRENT_LIST_DIR}/../include" ABSOLUTE)
endif()
# The SDK as a target: its headers, nothing to link.
if(NOT TARGET jobrt::plugin)
  add_library(jobrt::plugin INTERFACE IMPORTED)
  set_target_properties(jobrt::plugin PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${JOBRT_INCLUDE_DIR}")
endif()
# The build-id script beside this file (CMAKE_CURRENT_LIST_DIR, read here:
# inside the function it names the caller's directory).
set(JOBRT_BUILD_ID_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/jobrt-build-id.cmake")

# <name>.h in the build tree, defining JOBRT_BUILD_ID, force-included into
# every source of target name.
function(_jobrt_stamp_build_id name)
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/jobrt_build_id")
  set(inputs "${dir}/${name}.build-id-inputs")
  set(header "${dir}/${name}.h")
  set(lines "")
  set(deps "")
  foreach(src IN LISTS ARGN)
    get_filename_component(abs "${src}" ABSOLUTE)
    string(APPEND lines "src=${abs}\n")
    list(APPEND deps "${abs}")
  endforeach()
  # Rewritten only when its content changes, so a new -D or source list
  # (not only an edited source) reruns the stamp with every generator.
  file(GENERATE OUTPUT "${inputs}" CONTENT
    "${lines}target=${name}\ndefs=\n$<JOIN:$<TARGET_PROPERTY:${name},COMPILE_DEFINITIONS>,\n>\n")
  add_custom_command(OUTPUT "${header}"
    COMMAND "${CMAKE_COMMAND}" "-DINPUTS=${inputs}" "-DOUT=${header}"
            -P "${JOBRT_BUILD_ID_SCRIPT}"
    DEPENDS ${deps} "${inputs}" "${JOBRT_BUILD_ID_SCRIPT}"
    COMMENT "Build id of ${name}"
    VERBATIM)
  target_sources(${name} PRIVATE "${header}")
  target_compile_options(${name} PRIVATE "SHELL:-include \"${header}\"")
endfunction()

# A plugin with C++ sources links with a version script that exports
# jobrt_plugin alone: libstdc++ declares namespace std with default
# visibility, so every std:: template the plugin instantiates would
# otherwise be exported despite -fvisibility=hidden.
function(_jobrt_cxx_exports name)
  set(cxx OFF)
  foreach(src IN LISTS ARGN)
    if(src MATCHES "\\.(cc|cp|cpp|cxx|c\\+\\+|C|CPP)$")
      set(cxx ON)
    endif()
  endforeach()
  if(cxx)
    set(map "${CMAKE_CURRENT_BINARY_DIR}/jobrt_exports/${name}.map")
    file(GENERATE OUTPUT "${map}"
      CONTENT "{\n  global: jobrt_plugin;\n  local: *;\n};\n")
    target_link_options(${name} PRIVATE "LINKER:--version-script=${map}")
    set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS "${map}")
  endif()
endfunction()

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
  target_link_libraries(${name} PRIVATE jobrt::plugin)
  # (g++ only: clang++ has no such flag and never emits unique symbols)
  target_compile_options(${name} PRIVATE
    $<$<COMPILE_LANG_AND_ID:CXX,GNU>:-fno-gnu-unique>)
  _jobrt_cxx_exports(${name} ${ARG_SOURCES})
  target_link_options(${name} PRIVATE "LINKER:-z,defs" "LINKER:--no-undefined")
  if(ARG_LIBRARIES)
    target_link_libraries(${name} PRIVATE ${ARG_LIBRARIES})
  endif()
  _jobrt_stamp_build_id(${name} ${ARG_SOURCES})
endfunction()
