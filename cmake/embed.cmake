# cmake -DIN=file -DOUT=header -DNAME=symbol -P embed.cmake: a C++ header holding IN's bytes.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "// Generated from ${IN} by cmake/embed.cmake. Do not edit.\n#pragma once\n"
  "inline constexpr unsigned char ${NAME}[] = {${bytes}};\n")
