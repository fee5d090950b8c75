# Writes a C++ source defining `const std::string_view NAME` (in namespace NAMESPACE) that holds the
# bytes of INPUT, so a binary serves a file of the source tree without looking for it at run time.
#   cmake -DINPUT=docs/openapi.json -DOUTPUT=openapi_document.cpp -DNAMESPACE=roster::upstream
#         -DNAME=kOpenApiDocument -P EmbedFile.cmake
# The bytes are written as a hex array, so no content can end a string literal early.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
string(REGEX REPLACE "(('[^']*',){24})" "\\1\n    " bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
     "// Generated from ${INPUT} by cmake/EmbedFile.cmake: edit that file, not this one.\n"
     "#include <string_view>\n\n"
     "namespace ${NAMESPACE} {\n"
     "namespace {\n"
     "constexpr char kBytes[${size} + 1] = {\n    ${bytes}'\\0'};\n"
     "}  // namespace\n"
     "extern const std::string_view ${NAME}(kBytes, ${size});\n"
     "}  // namespace ${NAMESPACE}\n")
# Replaced only when the text changed, so an unchanged file rebuilds nothing.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
