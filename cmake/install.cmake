# `cmake --install build --prefix P`: the htp-export executable (and htp-export-torch, which it runs), the libraries with their public
# headers, and P/lib/cmake/htp_export/ for find_package(htp_export CONFIG).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(htp_package_dir ${CMAKE_INSTALL_LIBDIR}/cmake/htp_export)
set(htp_installed_libraries htp_onnxio htp_tagging htp_inheritance htp_optimizer htp_analysis htp_zoo htp_exporter)
foreach(library ${htp_installed_libraries})
  get_target_property(library_dir ${library} SOURCE_DIR)
  install(DIRECTORY ${library_dir}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(TARGETS ${htp_installed_libraries} EXPORT htp_exportTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS htp-export RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS htp-export-torch RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/htp-export)  # cli/app.h finds it there
install(EXPORT htp_exportTargets NAMESPACE htp:: DESTINATION ${htp_package_dir})

configure_package_config_file(cmake/htp_exportConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/htp_exportConfig.cmake
  INSTALL_DESTINATION ${htp_package_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/htp_exportConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/htp_exportConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/htp_exportConfigVersion.cmake
  DESTINATION ${htp_package_dir})
