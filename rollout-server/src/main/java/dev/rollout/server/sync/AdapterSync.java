package dev.rollout.server.sync;

import ai.djl.ndarray.NDManager;
import dev.rollout.lora.BaseFingerprint;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraConfig;
import dev.rollout.lora.LoraMerge;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The LoRA side of weight syncs. The server keeps the base and serves {@code W + scale · B · A} for the targeted
 * modules as {@link AdapterServing} says: merged ({@link LoraMerge}: new targeted matrices per version, computed from
 * the kept base and sharing its other tensors; the engine's swap frees the previous version's, never the base's) or
 * unmerged (the adapter added in the forward). Either way the base is never written, so versions cannot accumulate. A
 * sync without an adapter, full or partial, changes the base and drops the adapter, which was trained on the old one.
 * Calls come from {@link WeightSync}, one sync at a time; {@link #state()} may be read from any thread.
 */
public final class AdapterSync {
    private static final String ADAPTER_PREFIX = "base_model.model.";

    /** The active adapter, for GetModelInfo; null fields when none. */
    public record State(LoraConfig adapter, long adapterVersion, String baseFingerprint) {}

    /**
     * What one sync will serve, not yet serving: {@link #commit} or {@link #discard} it.
     *
     * @param base    the base from now on: new weights from a full sync, or the kept ones
     * @param weights what the model is to serve: {@code base} (unmerged) or weights merged from it
     * @param adapter what the forward is to add: the adapter (unmerged), or null (merged into {@code weights})
     */
    record Prepared(ModelWeights base, ModelWeights weights, LoraAdapter adapter, LoraConfig config, String baseFingerprint) {}

    private static final Logger log = LoggerFactory.getLogger(AdapterSync.class);
    private final CausalLM model;
    private final NDManager manager;
    private final AdapterServing serving;
    private volatile State state = new State(null, 0, "");

    AdapterSync(CausalLM model, NDManager manager, AdapterServing serving) {
        this.model = model;
        this.manager = manager;
        this.serving = serving;
    }

    State state() {
        return state;
    }

    AdapterServing serving() {
        return serving;
    }

    static boolean isAdapterTensor(String name) {
        return name.startsWith(ADAPTER_PREFIX);
    }

    /** The kept base, which every sync of model tensors and every merge starts from: never weights with an adapter merged in. */
    ModelWeights base() {
        ModelWeights served = model.weights();
        return served.base() != null ? served.base() : served;
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
     * What to serve for a checked LoRA sync: the sent base (full sync) or the kept one, with the sent adapter merged
     * into it or beside it. Nothing serving is touched.
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
        try {
            String fingerprint;
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
            ModelWeights base = newBase != null ? newBase : base();
            LoraAdapter adapter = LoraAdapter.fromHost(lora, c, adapterTensors, manager);
            if (serving == AdapterServing.UNMERGED) {
                return new Prepared(base, base, adapter, lora, fingerprint);
            }
            try (adapter) {
                long start = System.nanoTime();
                ModelWeights merged = LoraMerge.merge(base, adapter, manager);
                log.info("merged a rank-{} adapter of {} into {} MiB of base matrices in {} ms", lora.r(),
                        lora.targetModuleNames(), merged.ownedByteSize() >> 20, (System.nanoTime() - start) / 1_000_000);
                return new Prepared(base, merged, null, lora, fingerprint);
            }
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

    /** After a failed swap: frees what {@code p} made (merged matrices, adapter, a sent base), never what serves. */
    void discard(Prepared p) {
        if (p.adapter() != null) {
            p.adapter().close();
        }
        if (p.weights() != p.base()) {
            p.weights().close();
        }
        if (p.base() != base()) {
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
