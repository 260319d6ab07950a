package dev.rollout.server.sync;

import ai.djl.ndarray.NDManager;
import dev.rollout.lora.BaseFingerprint;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraConfig;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.proto.v1.LoraAdapterSpec;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.weights.HostTensor;
import io.grpc.Status;
import io.grpc.StatusException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The LoRA side of weight syncs. The server serves an adapter unmerged, {@code x W^T + scale · (x A^T) B^T} over the
 * base it already holds, as the trainer computes it: an adapter sync uploads only the adapter's tensors, the base is
 * held once and shared by every adapter version, and versions cannot accumulate because no weight is ever written. A
 * sync without an adapter replaces the base and drops the adapter. Calls come from {@link WeightSync}, one sync at a
 * time; {@link #state()} may be read from any thread.
 */
public final class AdapterSync {
    private static final String ADAPTER_PREFIX = "base_model.model.";

    /** The active adapter, for GetModelInfo; null fields when none. */
    public record State(LoraConfig adapter, long adapterVersion, String baseFingerprint) {}

    /**
     * What one sync will serve, not yet serving: {@link #commit} or {@link #discard} it.
     *
     * @param base the base to serve: new weights from a full sync, or the serving ones
     */
    record Prepared(ModelWeights base, LoraAdapter adapter, LoraConfig config, String baseFingerprint) {}

    private final CausalLM model;
    private final NDManager manager;
    private volatile State state = new State(null, 0, "");

    AdapterSync(CausalLM model, NDManager manager) {
        this.model = model;
        this.manager = manager;
    }

    State state() {
        return state;
    }

    static boolean isAdapterTensor(String name) {
        return name.startsWith(ADAPTER_PREFIX);
    }

    /** The base a sync of model tensors starts from: the serving weights, which never have an adapter merged in. */
    ModelWeights base() {
        return model.weights();
    }

    /**
     * The tensors a LoRA sync must send, shape by name: the adapter's, and for a full sync the model's too.
     *
     * @throws StatusException INVALID_ARGUMENT naming what in the spec the model cannot take
     */
    Map<String, long[]> expectedTensors(SyncWeightsHeader header, Map<String, long[]> modelTensors) throws StatusException {
        LoraConfig lora = config(header.getLora());
        Map<String, long[]> out = new LinkedHashMap<>();
        if (!header.getPartial()) {
            out.putAll(modelTensors);
        }
        LoraAdapter.expectedTensors(lora, model.config()).forEach(t -> out.put(t.name(), t.shape()));
        return out;
    }

    static LoraConfig config(LoraAdapterSpec spec) throws StatusException {
        try {
            return new LoraConfig(spec.getR(), spec.getLoraAlpha(), 0, LoraConfig.parseTargets(spec.getTargetModulesList()),
                    spec.getUseRslora());
        } catch (IllegalArgumentException e) {
            throw Status.INVALID_ARGUMENT.withDescription("header.lora: " + e.getMessage()).asException();
        }
    }

    /**
     * The base and adapter to serve for a checked LoRA sync: the sent base (full sync) or the serving one, and the sent
     * adapter on the device. Nothing serving is touched.
     *
     * @throws StatusException FAILED_PRECONDITION when the adapter's base fingerprint is not this server's base
     */
    Prepared prepare(SyncWeightsHeader header, Map<String, HostTensor> tensors) throws StatusException {
        LoraConfig lora = config(header.getLora());
        ModelConfig c = model.config();
        Map<String, HostTensor> adapterTensors = new LinkedHashMap<>();
        Map<String, HostTensor> baseTensors = new LinkedHashMap<>();
        tensors.forEach((name, t) -> (isAdapterTensor(name) ? adapterTensors : baseTensors).put(name, t));
        ModelWeights newBase = null;
        String fingerprint;
        try {
            if (!baseTensors.isEmpty()) {
                List<HostTensor> ordered = new ArrayList<>();
                ModelWeights.expectedTensors(c).forEach(t -> ordered.add(baseTensors.get(t.name())));
                fingerprint = BaseFingerprint.of(ordered);
                if (!header.getBaseFingerprint().isEmpty() && !header.getBaseFingerprint().equals(fingerprint)) {
                    throw Status.INVALID_ARGUMENT.withDescription("header.base_fingerprint " + header.getBaseFingerprint()
                            + " is not the fingerprint of the base tensors sent (" + fingerprint + ")").asException();
                }
                newBase = ModelWeights.fromHost(c, baseTensors, manager);
            } else {
                fingerprint = baseFingerprint();
                if (!header.getBaseFingerprint().isEmpty() && !header.getBaseFingerprint().equals(fingerprint)) {
                    throw Status.FAILED_PRECONDITION.withDescription("the adapter was trained on base weights "
                            + header.getBaseFingerprint() + " but this server's base is " + fingerprint
                            + " (it loaded or was synced other weights); send the base with a full sync first").asException();
                }
            }
            LoraAdapter adapter = LoraAdapter.fromHost(lora, c, adapterTensors, manager);
            return new Prepared(newBase != null ? newBase : model.weights(), adapter, lora, fingerprint);
        } catch (IllegalArgumentException e) {
            if (newBase != null) {
                newBase.close();
            }
            throw Status.INVALID_ARGUMENT.withDescription("the adapter does not fit the model: " + e.getMessage()).asException();
        } catch (StatusException | RuntimeException e) {
            if (newBase != null) {
                newBase.close();
            }
            throw e;
        }
    }

    /** After the engine serves {@code p} as {@code version}: record the adapter. */
    void commit(Prepared p, long version) {
        state = new State(p.config(), version, p.baseFingerprint());
    }

    void discard(Prepared p) {
        p.adapter().close();
        if (p.base() != model.weights()) {
            p.base().close();
        }
    }

    /** After a sync without an adapter swapped in new weights: they are the base now. */
    void baseReplaced() {
        state = new State(null, 0, "");
    }

    /** Of the current base, computed once per base (it reads every weight). */
    private String baseFingerprint() {
        String known = state.baseFingerprint();
        if (known.isEmpty()) {
            known = BaseFingerprint.of(base());
            State s = state;
            state = new State(s.adapter(), s.adapterVersion(), known);
        }
        return known;
    }
}
