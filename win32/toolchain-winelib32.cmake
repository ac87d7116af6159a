# The Winelib build, 32-bit: isapihost is a Linux program built with winegcc -m32
# (Debian 12: wine32-tools:i386, whose winegcc builds both bitnesses; see docs/winelib.md).
# The host stays on the POSIX platform layer; the engine is compiled against Wine's
# windows.h and loads real PE filter DLLs with Wine's LoadLibraryA. The filter DLLs of the
# samples and tests are built by mingw-w64 in a sub-build (win32/Winelib.cmake).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR i686)
find_program(ISAPIHOST_WINEGCC NAMES winegcc winegcc-stable REQUIRED)
set(CMAKE_C_COMPILER ${ISAPIHOST_WINEGCC})
set(CMAKE_C_FLAGS_INIT "-m32 -fPIC")
# winegcc links every program as a shared object (name.exe.so): all code must be PIC.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-m32")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-m32")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-m32")
set(ISAPIHOST_WINELIB 32 CACHE STRING "Winelib build: 32 or 64" FORCE)
set(ISAPIHOST_PE_TOOLCHAIN "${CMAKE_CURRENT_LIST_DIR}/toolchain-i686.cmake" CACHE FILEPATH
    "mingw-w64 toolchain for the filter DLLs" FORCE)
