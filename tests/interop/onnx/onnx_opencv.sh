# OpenCV's dnn module (Debian's libopencv-dnn-dev: an ONNX importer and runtime of its own) runs
# every model that onnx_models.sh exported on the 10,000 test images (onnx_opencv_run, C++): both
# outputs match ours to 1e-4 and the accuracy is --evaluate's; the negative control must fail.
# OpenCV 4.6 cannot read onnx_relu_forms' operators (lib.sh: OPENCV_UNREADABLE); ONNX Runtime runs it.
source "$(dirname "$0")/lib.sh"
SKIP_MODELS=("${OPENCV_UNREADABLE[@]}")
check_runtime "OpenCV dnn" "$BUILD/onnx_opencv_run"
echo "1 passed, 0 failed"
