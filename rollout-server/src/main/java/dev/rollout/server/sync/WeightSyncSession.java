package dev.rollout.server.sync;

import com.google.protobuf.ByteString;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.proto.v1.TensorChunk;
import dev.rollout.server.ProtoMapping;
import dev.rollout.weights.DType;
import dev.rollout.weights.HostTensor;
import dev.rollout.weights.WeightDigest;
import io.grpc.Status;
import io.grpc.StatusException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The staging side of one SyncWeights stream: the header first, then chunks of any tensors in any interleaving, each
 * checked against the model's expected names and shapes as it arrives. Nothing here touches the serving weights; a
 * session that fails or is abandoned is simply dropped.
 */
public final class WeightSyncSession {
    private static final int DIGEST_BYTES = 32;
    /** What a complete, checked stream delivers: fp32 tensors by Hugging Face name. */
    public record Staged(long version, boolean partial, Map<String, HostTensor> tensors, long bytesReceived, ByteString digest,
                         SyncWeightsHeader header) {}

    private final Map<String, long[]> expected = new LinkedHashMap<>();
    private final long currentVersion;
    private final ByteString currentDigest;
    private final AdapterSync adapters; // null: LoRA syncs are refused
    private final Map<String, TensorAssembly> tensors = new LinkedHashMap<>();
    private SyncWeightsHeader header;
    private boolean alreadyApplied;
    private long bytesReceived;

    /** @param expected the model's tensors, shape by name, in the order GetModelInfo lists them */
    public WeightSyncSession(Map<String, long[]> expected, long currentVersion) {
        this(expected, currentVersion, ByteString.EMPTY);
    }

    /** @param currentDigest the content digest the serving version was synced with; empty if none */
    public WeightSyncSession(Map<String, long[]> expected, long currentVersion, ByteString currentDigest) {
        this(expected, currentVersion, currentDigest, null);
    }

    /** @param adapters where LoRA syncs go; null: they are refused */
    WeightSyncSession(Map<String, long[]> expected, long currentVersion, ByteString currentDigest, AdapterSync adapters) {
        this.expected.putAll(expected);
        this.currentVersion = currentVersion;
        this.currentDigest = currentDigest;
        this.adapters = adapters;
    }

    public void accept(SyncWeightsChunk chunk) throws StatusException {
        switch (chunk.getPartCase()) {
            case HEADER -> acceptHeader(chunk.getHeader());
            case TENSOR -> acceptTensor(chunk.getTensor());
            default -> throw invalid("a SyncWeightsChunk must carry a header or a tensor chunk");
        }
    }

    private void acceptHeader(SyncWeightsHeader h) throws StatusException {
        if (header != null) {
            throw invalid("a second header arrived; send exactly one header, first");
        }
        if (h.getTensorCount() < 0) {
            throw invalid("header.tensor_count must be >= 0, got " + h.getTensorCount());
        }
        if (!h.getContentDigest().isEmpty() && h.getContentDigest().size() != DIGEST_BYTES) {
            throw invalid("header.content_digest must be a " + DIGEST_BYTES + "-byte SHA-256, got " + h.getContentDigest().size() + " bytes");
        }
        if (h.getVersion() == currentVersion && !h.getContentDigest().isEmpty() && h.getContentDigest().equals(currentDigest)) {
            header = h;
            alreadyApplied = true;
            return;
        }
        if (h.getVersion() == currentVersion && currentVersion > 0) {
            throw invalid("weight version " + h.getVersion() + " does not exceed the serving version " + currentVersion
                    + ": versions must strictly increase (it is already serving, "
                    + (h.getContentDigest().isEmpty() ? "and this sync has no header.content_digest to show it retries the sync that made it"
                            : "synced with another header.content_digest")
                    + "; a retry must send the same tensors and digest)");
        }
        if (h.getVersion() <= currentVersion) {
            throw invalid("weight version " + h.getVersion() + " does not exceed the serving version " + currentVersion
                    + ": versions must strictly increase");
        }
        if (h.hasLora()) {
            if (adapters == null) {
                throw invalid("this endpoint does not take LoRA adapters");
            }
            // a LoRA sync sends the whole adapter, with the whole base when partial=false
            Map<String, long[]> loraTensors = adapters.expectedTensors(h, expected);
            expected.clear();
            expected.putAll(loraTensors);
        }
        header = h;
    }

    /**
     * True once the header has named the version already serving with the digest it was synced with: the stream is a
     * retry of a sync that was applied, so the caller answers success at once and ignores the rest of the stream.
     */
    public boolean alreadyApplied() {
        return alreadyApplied;
    }

    /** Drops everything staged, so the memory goes even while the stream object lingers. */
    public void discard() {
        tensors.clear();
    }

    private void acceptTensor(TensorChunk chunk) throws StatusException {
        if (header == null) {
            throw invalid("a tensor chunk arrived before the header; send the SyncWeightsHeader first");
        }
        if (alreadyApplied) {
            return;
        }
        String name = chunk.getName();
        DType dtype = ProtoMapping.toStorage(chunk.getDtype());
        TensorAssembly assembly = tensors.get(name);
        if (assembly == null) {
            long[] shape = expected.get(name);
            if (shape == null) {
                throw invalid("unknown tensor name '" + name + "': " + (header.hasLora()
                        ? "a rank-" + header.getLora().getR() + " adapter of " + header.getLora().getTargetModulesList() + " has no such tensor"
                        : "GetModelInfo lists the " + expected.size() + " tensors of this model"));
            }
            if (dtype == null) {
                throw invalid("tensor '" + name + "': dtype " + chunk.getDtype() + " is not one of DTYPE_FLOAT32, DTYPE_FLOAT16, DTYPE_BFLOAT16");
            }
            long[] sent = chunk.getShapeList().stream().mapToLong(Long::longValue).toArray();
            if (!Arrays.equals(sent, shape)) {
                throw invalid("tensor '" + name + "': shape " + Arrays.toString(sent) + " does not match the model's " + Arrays.toString(shape));
            }
            assembly = TensorAssembly.start(chunk, dtype, shape);
            tensors.put(name, assembly);
        }
        assembly.accept(chunk, dtype);
        bytesReceived += chunk.getData().size();
    }

    /** Called when the client half-closes: every started tensor complete, the count as announced, and for a full sync every tensor. */
    public Staged finish() throws StatusException {
        if (header == null) {
            throw invalid("the stream ended without a header");
        }
        for (Map.Entry<String, TensorAssembly> e : tensors.entrySet()) {
            TensorAssembly a = e.getValue();
            if (!a.complete()) {
                throw invalid("tensor '" + e.getKey() + "' is incomplete: " + a.receivedBytes() + " of " + a.totalBytes()
                        + " bytes arrived and no chunk had last=true");
            }
        }
        if (header.getTensorCount() != 0 && header.getTensorCount() != tensors.size()) {
            throw invalid("header announced " + header.getTensorCount() + " tensors but " + tensors.size() + " arrived");
        }
        if (!header.getPartial() || header.hasLora()) {
            List<String> missing = expected.keySet().stream().filter(n -> !tensors.containsKey(n)).toList();
            if (!missing.isEmpty()) {
                throw invalid((header.hasLora() ? "a LoRA sync must send every tensor of the adapter"
                        + (header.getPartial() ? "" : " and of the base") : "a full sync (header.partial=false) must send every tensor")
                        + "; missing " + missing.size() + ": "
                        + missing.subList(0, Math.min(5, missing.size())) + (missing.size() > 5 ? " ..." : "")
                        + (header.hasLora() ? "" : " (set partial=true to update only some)"));
            }
        }
        ByteString digest = header.getContentDigest();
        if (!digest.isEmpty()) {
            byte[] actual = WeightDigest.of(tensors.values().stream().map(TensorAssembly::digestEntry).toList());
            if (!digest.equals(ByteString.copyFrom(actual))) {
                throw invalid("header.content_digest does not match the " + tensors.size() + " tensors that arrived "
                        + "(SHA-256 over names, dtypes, shapes and CRC32Cs, in name order): the digest was computed over other tensors");
            }
        }
        Map<String, HostTensor> out = new LinkedHashMap<>();
        tensors.forEach((name, a) -> out.put(name, a.toFloat32()));
        return new Staged(header.getVersion(), header.getPartial(), out, bytesReceived, digest, header);
    }

    public long bytesReceived() {
        return bytesReceived;
    }

    public long version() {
        return header == null ? currentVersion : header.getVersion();
    }

    private static StatusException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asException();
    }
}
