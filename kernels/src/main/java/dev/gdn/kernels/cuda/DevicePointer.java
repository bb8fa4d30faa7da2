package dev.gdn.kernels.cuda;

import org.bytedeco.javacpp.Pointer;

/** A device address wrapped as a JavaCPP {@link Pointer}, for library calls (cuBLAS) that take pointers. */
final class DevicePointer extends Pointer {
    DevicePointer(long address) {
        this.address = address;
    }
}
