# Turn the OpenCL C sources into one C file of NUL-terminated strings:
#   const char *const ie__cl_sources[]; const char *const ie__cl_names[]; ie__cl_count
# Each source's #include "name" lines are replaced by the named file (looked up
# beside the including file, recursively), so the shared kernels of
# src/kernels/ reach the OpenCL compiler as one text with their vendor header;
# headers carry include guards, so a header inlined twice is harmless.
string(REPLACE "|" ";" IN "${IN}")

function(ie_inline path depth out)
  if(depth GREATER 8)
    message(FATAL_ERROR "embed.cmake: #include nesting too deep at ${path}")
  endif()
  file(READ ${path} _text)
  # Only directives at the start of a line (comments may quote them).
  set(_text "\n${_text}")
  get_filename_component(_dir ${path} DIRECTORY)
  string(REGEX MATCHALL "\n#include \"[^\"]+\"" _incs "${_text}")
  foreach(_inc ${_incs})
    string(REGEX REPLACE "\n#include \"([^\"]+)\"" "\\1" _name "${_inc}")
    if(NOT EXISTS ${_dir}/${_name})
      message(FATAL_ERROR "embed.cmake: ${path} includes ${_name}, not found in ${_dir}")
    endif()
    math(EXPR _d "${depth}+1")
    ie_inline(${_dir}/${_name} ${_d} _sub)
    string(REPLACE "${_inc}" "\n${_sub}" _text "${_text}")
  endforeach()
  set(${out} "${_text}" PARENT_SCOPE)
endfunction()

set(_body "/* Generated from the OpenCL kernel sources by cmake/embed.cmake. Do not edit. */\n")
set(_names "")
set(_ptrs "")
set(_i 0)
foreach(_f ${IN})
  ie_inline(${_f} 0 _text)
  # file(READ ... HEX) reads files only: write the inlined text out first.
  file(WRITE ${OUT}.tmp "${_text}")
  file(READ ${OUT}.tmp _hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _hex "${_hex}")
  string(APPEND _body "static const char ie__cl_src_${_i}[] = {${_hex}0x00};\n")
  get_filename_component(_n ${_f} NAME)
  string(APPEND _names "\"${_n}\",")
  string(APPEND _ptrs "ie__cl_src_${_i},")
  math(EXPR _i "${_i}+1")
endforeach()
file(REMOVE ${OUT}.tmp)
string(APPEND _body "const char *const ie__cl_sources[] = {${_ptrs}0};\n")
string(APPEND _body "const char *const ie__cl_names[] = {${_names}0};\n")
string(APPEND _body "const int ie__cl_count = ${_i};\n")
file(WRITE ${OUT} "${_body}")
