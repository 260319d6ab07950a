package dev.rollout.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * {@code bench.json}'s {@code scaling}: the model, the grid's settings, the duration, and {@code cells}, each with
 * {@code phase}, {@code batch}, {@code context}, {@code tokens_per_step}, {@code kv_cache_bytes} and either
 * {@code step_seconds}, {@code tokens_per_second}, {@code floor_seconds}, {@code step_over_floor}, or {@code skipped}
 * (why).
 */
final class ScalingJson {
    private ScalingJson() {}

    static ObjectNode toJson(ScalingTable t) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("model", t.modelName());
        root.put("steps", t.settings().steps());
        root.put("prefill_token_budget", t.settings().prefillTokenBudget());
        root.put("kv_limit_bytes", t.settings().kvLimitBytes());
        root.put("seconds", t.seconds());
        t.settings().batches().forEach(root.putArray("batches")::add);
        t.settings().contexts().forEach(root.putArray("contexts")::add);
        var cells = root.putArray("cells");
        for (ScalingCell c : t.cells()) {
            ObjectNode o = cells.addObject();
            o.put("phase", c.phase());
            o.put("batch", c.batch());
            o.put("context", c.context());
            o.put("tokens_per_step", c.tokensPerStep());
            o.put("kv_cache_bytes", c.kvCacheBytes());
            if (c.measured()) {
                o.put("step_seconds", c.stepSeconds());
                o.put("tokens_per_second", c.tokensPerSecond());
                o.put("floor_seconds", c.floorSeconds());
                o.put("step_over_floor", c.stepOverFloor());
            } else {
                o.put("skipped", c.skipped());
            }
        }
        return root;
    }
}
