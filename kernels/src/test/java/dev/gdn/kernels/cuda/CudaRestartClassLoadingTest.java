package dev.gdn.kernels.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URL;
import java.net.URLClassLoader;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A job restart in one TaskManager JVM, as Flink does it: each attempt loads the job's classes (the
 * kernels, from the job jar) in a new child-first classloader, while the CUDA bindings (Bytedeco, in
 * Flink's lib/ and not in the slim job jar) come from the parent, once. Both attempts must reach the
 * GPU: the native libraries are loaded once per JVM and stay usable for the second attempt's classes.
 */
@Tag("gpu")
@Timeout(300)
class CudaRestartClassLoadingTest {
    @BeforeEach
    void requireGpu() {
        Gpu.require();
    }

    /** Flink's child-first order for the job's own classes; everything else from the parent. */
    static final class JobClassLoader extends URLClassLoader {
        JobClassLoader(URL jobClasses, ClassLoader parent) {
            super(new URL[] {jobClasses}, parent);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            synchronized (getClassLoadingLock(name)) {
                if (name.startsWith("dev.gdn.")) {
                    Class<?> c = findLoadedClass(name);
                    if (c == null) {
                        c = findClass(name);
                    }
                    if (resolve) {
                        resolveClass(c);
                    }
                    return c;
                }
                return super.loadClass(name, resolve);
            }
        }
    }

    @Test
    void twoAttemptsWithTheirOwnClassLoadersBothReachTheGpu() throws Exception {
        URL kernels = CudaDevice.class.getProtectionDomain().getCodeSource().getLocation();
        Class<?> first = null;
        for (int attempt = 1; attempt <= 2; attempt++) {
            try (JobClassLoader job = new JobClassLoader(kernels, CudaRestartClassLoadingTest.class.getClassLoader())) {
                Class<?> probe = job.loadClass(CudaProbe.class.getName());
                assertThat(probe.getClassLoader()).as("attempt %d loads the job's classes itself", attempt).isSameAs(job);
                @SuppressWarnings("unchecked")
                Optional<String> reason = (Optional<String>) probe.getMethod("unavailableReason").invoke(null);
                assertThat(reason).as("attempt %d: CUDA usable", attempt).isEmpty();
                Class<?> device = job.loadClass(CudaDevice.class.getName());
                Object gpu = device.getConstructor(int.class).newInstance(0);
                long[] memory = (long[]) device.getMethod("memoryInfo").invoke(gpu);
                assertThat(memory[0]).as("attempt %d reads the device's free memory", attempt).isPositive();
                long ptr = (long) device.getMethod("allocate", long.class).invoke(gpu, 1L << 20);
                device.getMethod("zero", long.class, long.class).invoke(gpu, ptr, 1L << 18);
                device.getMethod("free", long.class).invoke(gpu, ptr);
                assertThat(probe).as("a new attempt, new classes").isNotSameAs(first);
                first = probe;
                System.out.printf("attempt %d: own classes, CUDA bindings from the parent, %,d MiB free on GPU 0%n", attempt,
                        memory[0] >> 20);
            }
        }
    }
}
