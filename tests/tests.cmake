# The tests (launch/test.sh runs them through ctest): unit tests with GoogleTest, the scripts under
# tests/<label>/, and the programs they use. Included from CMakeLists.txt when FMNIST_TESTS is on, in
# its scope: the programs land in the build folder's top, where the scripts look for them.
find_package(GTest REQUIRED)

# Unit tests: tests/test_<module>[_what].cpp links fmnist_<module> and GoogleTest.
file(GLOB unit_tests CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/test_*.cpp)
foreach(source ${unit_tests})
  get_filename_component(name ${source} NAME_WE)
  string(REGEX REPLACE "^test_([a-z]+).*$" "\\1" module ${name})
  add_executable(${name} ${source})
  target_link_libraries(${name} PRIVATE fmnist_${module} GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src/${module})  # the module's own headers
  target_compile_definitions(${name} PRIVATE
    FMNIST_FIXTURES="${PROJECT_SOURCE_DIR}/tests/fixtures"
    FMNIST_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 300)
endforeach()
target_link_libraries(test_export PRIVATE onnx)  # reads the exported graph back with ONNX's classes

# Tests that run the real programs under mpirun: tests/mpi/*.sh (label mpi), the fault suite
# tests/fault/*.sh (label fault) and the emulated multi-node cluster tests/cluster/*.sh (label
# cluster). A script exits 77 to say it was skipped.
# tests/predict/*.sh (label predict) run fmnist_inspect --predict on pictures that write_test_pngs makes.
# tests/interop/<reader>/*.sh (label interop): independent readers of our files (tests/interop/install.sh: their npm packages).
# tests/docs/*.sh (label docs): README against the programs and sources, paths, the install.
# The unity build's guard (CMakeLists.txt): no name defined twice in the files of one unit (label unit).
add_test(NAME build_unity_names COMMAND python3 ${PROJECT_SOURCE_DIR}/tests/build/unity_names.py ${PROJECT_SOURCE_DIR})
set_tests_properties(build_unity_names PROPERTIES LABELS unit)
add_executable(write_test_pngs tests/predict/write_test_pngs.cpp)
target_link_libraries(write_test_pngs PRIVATE fmnist_data opencv_parts)
set(FMNIST_SLOW_TESTS fault_freeze_sweep fault_checkpoint_fuzz cluster_link_cut cluster_restart_frozen
    cluster_restart_slurm interop_tfjs_models)
foreach(label mpi fault predict cluster interop docs)
  file(GLOB_RECURSE scripts CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/${label}/*.sh)
  # (mixed_isa.sh needs a second, portable build of fmnist_dist: .ci/run makes it and runs the script)
  list(FILTER scripts EXCLUDE REGEX "/(lib|slurm_lib|nodes|install|mixed_isa)\\.sh$")
  foreach(script ${scripts})
    get_filename_component(name ${script} NAME_WE)
    add_test(NAME ${label}_${name} COMMAND bash ${script})
    set_tests_properties(${label}_${name} PROPERTIES LABELS ${label} TIMEOUT 300 SKIP_RETURN_CODE 77
      ENVIRONMENT "FMNIST_BUILD=${PROJECT_BINARY_DIR};FMNIST_SOURCE_DIR=${PROJECT_SOURCE_DIR};MPIEXEC=${MPIEXEC_EXECUTABLE}")
    # The emulated nodes (network namespaces, their addresses, sshd) and Slurm's daemons are one per
    # machine: those tests never run beside each other when ctest runs tests in parallel (-j).
    if(label STREQUAL "cluster" OR name MATCHES "slurm")
      set_tests_properties(${label}_${name} PROPERTIES RESOURCE_LOCK machine_wide_daemons)
    endif()
    # Label slow as well: the long sweeps and variants that launch/test.sh leaves to CI (.ci/run runs
    # them after the rest) to keep the README's command within its time; launch/test.sh -L slow runs them.
    if("${label}_${name}" IN_LIST FMNIST_SLOW_TESTS)
      set_tests_properties(${label}_${name} PROPERTIES LABELS "${label};slow")
    endif()
    # The script tests take 5-90 s, the unit tests under one: with ctest -j and no timings of an earlier
    # run (a fresh clone), the long ones start first and the short ones fill the gaps.
    set_tests_properties(${label}_${name} PROPERTIES COST 50)
    # It trains nine models and runs each under TensorFlow.js: 4-5 minutes on a loaded 2-core machine.
    if("${label}_${name}" STREQUAL "interop_tfjs_models")
      set_tests_properties(${label}_${name} PROPERTIES TIMEOUT 900)
    endif()
  endforeach()
endforeach()

# ONNX interoperability (label interop, registered by the foreach above): the fixture
# tests/interop/onnx/onnx_models.sh trains and exports the models once; OpenCV's dnn (onnx_opencv_run,
# C++) and ONNX Runtime's WebAssembly build (tests/interop/onnxruntime/, Node) each run them.
# onnx_export_nchw_flatten makes the negative control; test_interop_opencv sweeps random-weight specs.
find_library(OPENCV_dnn_LIBRARY opencv_dnn REQUIRED)
add_executable(onnx_opencv_run tests/interop/onnx/opencv_run.cpp)
target_link_libraries(onnx_opencv_run PRIVATE fmnist_data fmnist_io fmnist_predict opencv_parts ${OPENCV_dnn_LIBRARY})
add_executable(onnx_export_nchw_flatten tests/interop/onnx/export_nchw_flatten.cpp)
target_link_libraries(onnx_export_nchw_flatten PRIVATE fmnist_export fmnist_checkpoint)
add_executable(test_interop_opencv tests/interop/onnx/test_opencv_specs.cpp)
target_link_libraries(test_interop_opencv PRIVATE fmnist_export fmnist_nn fmnist_data fmnist_predict opencv_parts
  ${OPENCV_dnn_LIBRARY} GTest::gtest_main)
target_compile_definitions(test_interop_opencv PRIVATE FMNIST_FIXTURES="${PROJECT_SOURCE_DIR}/tests/fixtures")
add_test(NAME interop_opencv_specs COMMAND test_interop_opencv)
set_tests_properties(interop_opencv_specs PROPERTIES LABELS interop TIMEOUT 300)
set_tests_properties(interop_onnx_models PROPERTIES FIXTURES_SETUP onnx_models COST 100)
set_tests_properties(interop_onnx_opencv interop_onnxruntime_web PROPERTIES FIXTURES_REQUIRED onnx_models)
