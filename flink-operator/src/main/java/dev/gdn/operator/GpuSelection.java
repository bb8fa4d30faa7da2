package dev.gdn.operator;

import java.util.Collection;
import java.util.Optional;
import java.util.TreeSet;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;

/**
 * Which GPU an operator instance runs its model on: the job's {@code gdn.cuda.device} when set; else the
 * TaskManager's own {@code gdn.cuda.device} (its config.yaml, or {@code -D} when it was started: one GPU per
 * TaskManager where Flink's GPU plugin is not installed); else the GPU that Flink's external-resource framework
 * gave the TaskManager (the GPU plugin's {@code index} property, the lowest when it has several; every slot of
 * the TaskManager shares it); else GPU 0.
 */
final class GpuSelection {
    /** The resource name of GPUs in Flink's configuration ({@code external-resources: gpu}). */
    static final String RESOURCE = "gpu";

    private GpuSelection() {
    }

    /** The chosen device, with the sentence saying why (for the log). */
    record Choice(int device, String why) {
    }

    /**
     * @param configured {@code gdn.cuda.device} (-1: not set)
     * @param gpus       the TaskManager's external GPU resources
     * @throws IllegalArgumentException when a GPU's index is not a number
     */
    static Choice choose(int configured, Collection<ExternalResourceInfo> gpus) {
        return choose(configured, -1, gpus);
    }

    /**
     * @param configured    the job's {@code gdn.cuda.device} (-1: not set)
     * @param taskManager   the TaskManager's {@code gdn.cuda.device} (-1: not set)
     * @param gpus          the TaskManager's external GPU resources
     * @throws IllegalArgumentException when a GPU's index is not a number
     */
    static Choice choose(int configured, int taskManager, Collection<ExternalResourceInfo> gpus) {
        if (configured >= 0) {
            return new Choice(configured, "gdn.cuda.device = " + configured);
        }
        if (taskManager >= 0) {
            return new Choice(taskManager, "the TaskManager's gdn.cuda.device = " + taskManager);
        }
        TreeSet<Integer> indices = new TreeSet<>();
        for (ExternalResourceInfo g : gpus) {
            Optional<String> index = g.getProperty("index");
            if (index.isPresent()) {
                try {
                    indices.add(Integer.parseInt(index.get().trim()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("the TaskManager's GPU external resource has index '"
                            + index.get() + "', expected a CUDA ordinal", e);
                }
            }
        }
        if (indices.isEmpty()) {
            return new Choice(0, "no GPU external resource on this TaskManager (external-resources: gpu) and no "
                    + "gdn.cuda.device: GPU 0");
        }
        return new Choice(indices.first(), "the TaskManager's GPU external resource" + (indices.size() > 1
                ? " (indices " + indices + ", the first taken)" : "") + ": GPU " + indices.first());
    }
}
