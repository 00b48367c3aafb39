# Fails the build when a generated image is larger than its partition.
# cmake -DIMAGE=<file> -DLIMIT=<bytes> -DPARTITION=<name> -P check_image_size.cmake
file(SIZE "${IMAGE}" image_size)
if(image_size GREATER LIMIT)
  message(FATAL_ERROR "cairn: the image for partition '${PARTITION}' is "
          "${image_size} bytes but the partition holds ${LIMIT}; shrink the "
          "layout or grow the partition")
endif()
