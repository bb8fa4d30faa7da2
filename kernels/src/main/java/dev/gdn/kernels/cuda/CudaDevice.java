package dev.gdn.kernels.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * One GPU through the driver API: its primary context (made current on every thread that calls in),
 * kernels compiled from CUDA C resources by NVRTC to a CUBIN for this device's architecture and cached
 * on disk, and device allocations, all released on {@link #close()}.
 */
public final class CudaDevice implements AutoCloseable {
    private static final int CACHE_MAGIC = 0x47444E43; // "GDNC"
    private static final int CACHE_VERSION = 1;

    private final int ordinal;
    private final CUctx_st context = new CUctx_st();
    private final int major;
    private final int minor;
    private final int multiprocessors;
    private final int sharedPerMultiprocessor;
    private final int driver;
    private final List<Long> allocations = new ArrayList<>();
    private final List<CUmod_st> modules = new ArrayList<>();
    private final List<CUstream_st> streams = new ArrayList<>();
    private CUstream_st launchStream;

    /**
     * @throws CudaException with the probe's reason when CUDA is unavailable
     */
    public CudaDevice(int ordinal) {
        CudaProbe.unavailableReason().ifPresent(r -> {
            throw new CudaException("CUDA unavailable: " + r);
        });
        this.ordinal = ordinal;
        Cuda.check("cuDevicePrimaryCtxRetain", cudart.cuDevicePrimaryCtxRetain(context, ordinal));
        bind();
        int[] v = new int[1];
        Cuda.check("cuDeviceGetAttribute(major)",
                cudart.cuDeviceGetAttribute(v, cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, ordinal));
        major = v[0];
        Cuda.check("cuDeviceGetAttribute(minor)",
                cudart.cuDeviceGetAttribute(v, cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, ordinal));
        minor = v[0];
        Cuda.check("cuDeviceGetAttribute(multiprocessors)",
                cudart.cuDeviceGetAttribute(v, cudart.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, ordinal));
        multiprocessors = v[0];
        Cuda.check("cuDeviceGetAttribute(shared memory per multiprocessor)", cudart.cuDeviceGetAttribute(v,
                cudart.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR, ordinal));
        sharedPerMultiprocessor = v[0];
        Cuda.check("cuDriverGetVersion", cudart.cuDriverGetVersion(v));
        driver = v[0];
    }

    /** Makes this device's context current on the calling thread (contexts are per OS thread). */
    public void bind() {
        Cuda.check("cuCtxSetCurrent", cudart.cuCtxSetCurrent(context));
    }

    /** Streaming multiprocessors of this device (grid sizes of the grid-stride kernels follow it). */
    public int multiprocessors() {
        return multiprocessors;
    }

    /** Shared memory of one multiprocessor in bytes, all resident blocks together (228 KiB on sm_90). */
    public int sharedPerMultiprocessor() {
        return sharedPerMultiprocessor;
    }

    /** {@code sm_XY} of this device. */
    public String architecture() {
        return "sm_" + major + minor;
    }

    public int driverVersion() {
        return driver;
    }

    /**
     * NVRTC's {@code -I} option for the CUDA toolkit's headers ({@code mma.h}, {@code cuda_bf16.h}), which
     * NVRTC does not find by itself: {@code $CUDA_HOME/include}, else {@code $CUDA_PATH/include}, else
     * {@code /usr/local/cuda/include}.
     *
     * @throws CudaException naming every place looked at when none has {@code mma.h}
     */
    public static String includeOption() {
        List<String> tried = new ArrayList<>();
        for (String home : new String[] {System.getenv("CUDA_HOME"), System.getenv("CUDA_PATH"), "/usr/local/cuda"}) {
            if (home == null || home.isBlank()) {
                continue;
            }
            Path include = Path.of(home, "include");
            if (Files.isRegularFile(include.resolve("mma.h"))) {
                return "-I" + include;
            }
            tried.add(include.toString());
        }
        throw new CudaException("the tensor-core kernels need the CUDA toolkit's headers (mma.h, cuda_bf16.h) and "
                + "none of " + tried + " has them: set CUDA_HOME to the toolkit's directory, or use the fp32 chunk form");
    }

    /** Allocates device memory, released on close. */
    public long allocate(long bytes) {
        bind();
        LongPointer p = new LongPointer(1);
        Cuda.check("cuMemAlloc(" + bytes + ")", cudart.cuMemAlloc(p, bytes));
        long ptr = p.get();
        allocations.add(ptr);
        return ptr;
    }

    /**
     * Creates a stream (blocking: the synchronous copies of this class, on the legacy default stream,
     * stay ordered with its work) and sends every later kernel launch of this device to it.
     */
    public CUstream_st useNewStream() {
        bind();
        CUstream_st s = new CUstream_st();
        Cuda.check("cuStreamCreate", cudart.cuStreamCreate(s, 0));
        streams.add(s);
        launchStream = s;
        return s;
    }

    /**
     * A stream for copies that overlap the kernels: it neither waits for nor holds up the legacy default
     * stream and the launch stream. Destroy it with {@link #destroyStream}.
     */
    public CUstream_st newCopyStream() {
        bind();
        CUstream_st s = new CUstream_st();
        Cuda.check("cuStreamCreate(non-blocking)", cudart.cuStreamCreate(s, cudart.CU_STREAM_NON_BLOCKING));
        synchronized (streams) {
            streams.add(s);
        }
        return s;
    }

    public void destroyStream(CUstream_st s) {
        bind();
        synchronized (streams) {
            if (streams.remove(s)) {
                Cuda.check("cuStreamDestroy", cudart.cuStreamDestroy(s));
            }
        }
    }

    /** Queues a copy of {@code bytes} from the device into page-locked host memory on {@code stream}. */
    public void downloadAsync(Pointer dst, long src, long bytes, CUstream_st stream) {
        bind();
        Cuda.check("cuMemcpyDtoHAsync", cudart.cuMemcpyDtoHAsync(dst, src, bytes, stream));
    }

    /** Waits for the work queued on {@code stream}. */
    public void synchronize(CUstream_st stream) {
        bind();
        Cuda.check("cuStreamSynchronize", cudart.cuStreamSynchronize(stream));
    }

    /** The stream kernel launches go to (null: the legacy default stream). */
    CUstream_st launchStream() {
        return launchStream;
    }

    /**
     * Page-locked host memory of {@code floats} floats (copies from and to it run at full bus speed);
     * release it with {@link #freeHost}.
     */
    public FloatPointer allocateHost(long floats) {
        bind();
        try (PointerPointer<Pointer> p = new PointerPointer<>(1)) {
            Cuda.check("cuMemAllocHost(" + 4 * floats + ")", cudart.cuMemAllocHost(p, 4 * floats));
            FloatPointer f = new FloatPointer(p.get(0));
            f.capacity(floats).limit(floats);
            return f;
        }
    }

    public void freeHost(FloatPointer p) {
        bind();
        Cuda.check("cuMemFreeHost", cudart.cuMemFreeHost(p.position(0)));
    }

    /** Frees an allocation made by {@link #allocate}. */
    public void free(long ptr) {
        if (allocations.remove(Long.valueOf(ptr))) {
            bind();
            Cuda.check("cuMemFree", cudart.cuMemFree(ptr));
        }
    }

    /** Sets {@code count} 32-bit words at {@code dst} to zero. */
    /** Device-to-device copy of {@code bytes}, ordered with the legacy default stream's work. */
    public void copy(long dst, long src, long bytes) {
        bind();
        Cuda.check("cuMemcpyDtoD", cudart.cuMemcpyDtoD(dst, src, bytes));
    }

    public void zero(long dst, long count) {
        bind();
        Cuda.check("cuMemsetD32", cudart.cuMemsetD32(dst, 0, count));
    }

    /** Free and total device memory in bytes. */
    public long[] memoryInfo() {
        bind();
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            Cuda.check("cuMemGetInfo", cudart.cuMemGetInfo(free, total));
            return new long[] {free.get(), total.get()};
        }
    }

    /** Copies {@code bytes} from a host pointer to the device. */
    public void upload(long dst, Pointer src, long bytes) {
        bind();
        Cuda.check("cuMemcpyHtoD", cudart.cuMemcpyHtoD(dst, src, bytes));
    }

    /** Copies {@code bytes} from the device to a host pointer. */
    public void download(Pointer dst, long src, long bytes) {
        bind();
        Cuda.check("cuMemcpyDtoH", cudart.cuMemcpyDtoH(dst, src, bytes));
    }

    public void upload(long dst, short[] src) {
        try (org.bytedeco.javacpp.ShortPointer h = new org.bytedeco.javacpp.ShortPointer(src)) {
            upload(dst, h, 2L * src.length);
        }
    }

    public void upload(long dst, double[] src) {
        try (org.bytedeco.javacpp.DoublePointer h = new org.bytedeco.javacpp.DoublePointer(src)) {
            upload(dst, h, 8L * src.length);
        }
    }

    public void upload(long dst, float[] src) {
        try (FloatPointer h = new FloatPointer(src)) {
            upload(dst, h, 4L * src.length);
        }
    }

    /** A new device array holding {@code a} ({@code [n]} floats), or 0 when {@code a} is null. */
    public long floats(float[] a) {
        if (a == null) {
            return 0;
        }
        long p = allocate(4L * a.length);
        upload(p, a);
        return p;
    }

    public void upload(long dst, int[] src) {
        try (org.bytedeco.javacpp.IntPointer h = new org.bytedeco.javacpp.IntPointer(src)) {
            upload(dst, h, 4L * src.length);
        }
    }

    public void download(float[] dst, long src) {
        try (FloatPointer h = new FloatPointer(dst.length)) {
            download(h, src, 4L * dst.length);
            h.get(dst);
        }
    }

    public void synchronize() {
        bind();
        Cuda.check("cuCtxSynchronize", cudart.cuCtxSynchronize());
    }

    /**
     * A kernel from a CUDA C resource, compiled for this device (cached on disk by source, options,
     * architecture and driver).
     */
    public CUfunc_st function(String resource, String name, String... options) {
        bind();
        byte[] cubin = cubin(resource, options);
        CUmod_st module = new CUmod_st();
        try (BytePointer image = new BytePointer(cubin)) {
            Cuda.check("cuModuleLoadData(" + resource + ")", cudart.cuModuleLoadData(module, image));
        }
        modules.add(module);
        CUfunc_st f = new CUfunc_st();
        Cuda.check("cuModuleGetFunction(" + name + ")", cudart.cuModuleGetFunction(f, module, name));
        return f;
    }

    /**
     * Launches {@code f}; each argument is a {@link Pointer} to a host cell holding its value. The cells
     * are released once the launch is queued (the driver copies the values), so pass fresh ones.
     */
    public void launch(CUfunc_st f, int[] grid, int[] block, Pointer... args) {
        launch(f, grid, block, 0, args);
    }

    /** Launches {@code f} with {@code sharedBytes} of dynamic shared memory. */
    public void launch(CUfunc_st f, int[] grid, int[] block, int sharedBytes, Pointer... args) {
        bind();
        try (PointerPointer<Pointer> params = new PointerPointer<>(args)) {
            Cuda.check("cuLaunchKernel", cudart.cuLaunchKernel(f, grid[0], grid[1], grid[2], block[0], block[1],
                    block[2], sharedBytes, launchStream, params, null));
        }
        for (Pointer a : args) {
            a.close();
        }
    }

    private byte[] cubin(String resource, String[] options) {
        String source = source(resource);
        List<String> opts = new ArrayList<>(List.of("--gpu-architecture=" + architecture(), "-std=c++17"));
        opts.addAll(List.of(options));
        Path cache = cachePath(source, opts);
        byte[] cached = readCache(cache);
        if (cached != null) {
            return cached;
        }
        _nvrtcProgram prog = new _nvrtcProgram();
        Cuda.checkNvrtc("nvrtcCreateProgram(" + resource + ")",
                nvrtc.nvrtcCreateProgram(prog, new BytePointer(source), new BytePointer(resource), 0,
                        (PointerPointer<?>) null, (PointerPointer<?>) null));
        try {
            BytePointer[] o = opts.stream().map(BytePointer::new).toArray(BytePointer[]::new);
            int rc = nvrtc.nvrtcCompileProgram(prog, o.length, new PointerPointer<>(o));
            if (rc != 0) {
                SizeTPointer logSize = new SizeTPointer(1);
                nvrtc.nvrtcGetProgramLogSize(prog, logSize);
                BytePointer log = new BytePointer(logSize.get());
                nvrtc.nvrtcGetProgramLog(prog, log);
                throw new CudaException("nvrtcCompileProgram(" + resource + ", " + opts + ") failed: "
                        + nvrtc.nvrtcGetErrorString(rc).getString() + "\n" + log.getString());
            }
            SizeTPointer size = new SizeTPointer(1);
            Cuda.checkNvrtc("nvrtcGetCUBINSize", nvrtc.nvrtcGetCUBINSize(prog, size));
            byte[] bin = new byte[(int) size.get()];
            Cuda.checkNvrtc("nvrtcGetCUBIN", nvrtc.nvrtcGetCUBIN(prog, bin));
            writeCache(cache, bin);
            return bin;
        } finally {
            nvrtc.nvrtcDestroyProgram(prog);
        }
    }

    /** The CUDA C source of {@code resource} as NVRTC compiles it: its project headers inlined. */
    static String source(String resource) {
        return withHeaders(resource, read(resource), new java.util.HashSet<>());
    }

    private static String read(String resource) {
        try (InputStream in = CudaDevice.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new CudaException("kernel source " + resource + " is not on the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CudaException("reading " + resource + " failed", e);
        }
    }

    private static final java.util.regex.Pattern PROJECT_INCLUDE =
            java.util.regex.Pattern.compile("(?m)^#include \"([A-Za-z0-9_./]+)\"\\s*$");

    /**
     * The source with its project headers ({@code #include "name.cuh"}, resources beside it or at a relative
     * path such as {@code "../../cuda/gdn_common.cuh"}) inlined, each
     * once, so that NVRTC needs no include path of ours and the cache key covers the headers' text.
     */
    private static String withHeaders(String resource, String source, java.util.Set<String> seen) {
        String dir = resource.substring(0, resource.lastIndexOf('/') + 1);
        java.util.regex.Matcher m = PROJECT_INCLUDE.matcher(source);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            // a header beside the source, or elsewhere in the kernels' resources by a relative path
            String header = java.nio.file.Path.of(dir + m.group(1)).normalize().toString().replace('\\', '/');
            String text = seen.add(header)
                    ? withHeaders(header, read(header).replaceAll("(?m)^#pragma once\\s*$", ""), seen) : "";
            m.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(text));
        }
        m.appendTail(out);
        return out.toString();
    }

    private Path cachePath(String source, List<String> opts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(source.getBytes(StandardCharsets.UTF_8));
            md.update(String.join(" ", opts).getBytes(StandardCharsets.UTF_8));
            String key = HexFormat.of().formatHex(md.digest()).substring(0, 24) + "-" + architecture() + "-" + driver;
            String dir = System.getProperty("gdn.cubin.cache", System.getProperty("user.home") + "/.cache/gdn/cubin");
            return Path.of(dir, key + ".cubin");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A cached CUBIN (magic, version, length, bytes), or null when absent or not in this format. */
    private static byte[] readCache(Path p) {
        try {
            if (!Files.isRegularFile(p)) {
                return null;
            }
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p));
            if (b.remaining() < 12 || b.getInt() != CACHE_MAGIC || b.getInt() != CACHE_VERSION) {
                return null;
            }
            int n = b.getInt();
            if (n != b.remaining()) {
                return null;
            }
            byte[] bin = new byte[n];
            b.get(bin);
            return bin;
        } catch (IOException e) {
            return null;
        }
    }

    private static void writeCache(Path p, byte[] bin) {
        try {
            Files.createDirectories(p.getParent());
            ByteBuffer b = ByteBuffer.allocate(12 + bin.length).putInt(CACHE_MAGIC).putInt(CACHE_VERSION)
                    .putInt(bin.length).put(bin);
            Path tmp = Files.createTempFile(p.getParent(), "cubin", ".part");
            Files.write(tmp, b.array());
            Files.move(tmp, p, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            // the cache is an optimisation: compiling again next time is correct, only slower
        }
    }

    @Override
    public void close() {
        bind();
        for (long a : allocations) {
            cudart.cuMemFree(a);
        }
        allocations.clear();
        for (CUmod_st m : modules) {
            cudart.cuModuleUnload(m);
        }
        modules.clear();
        for (CUstream_st st : streams) {
            cudart.cuStreamDestroy(st);
        }
        streams.clear();
        launchStream = null;
        cudart.cuDevicePrimaryCtxRelease(ordinal);
    }
}
