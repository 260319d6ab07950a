package dev.rollout.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * SIMD math that gives the same bits whether the JIT has compiled the caller yet or not. The Vector API's own
 * {@code EXP} is Intel's SVML once compiled but {@code Math.exp} per lane before, and the two differ in the last bit;
 * {@code reduceLanes(ADD)} may add the lanes in any order once compiled (JDK 21+ does). Both made a run's numbers
 * depend on when the JIT reached the code, so two runs of one seed could sample differently. Everything here is built
 * from lane-wise IEEE operations (add, multiply, fma, compare, bit shifts), which the JIT must keep exactly.
 */
public final class VectorMath {
    public static final VectorSpecies<Float> LANES = FloatVector.SPECIES_PREFERRED;

    /** Below ln(2^-126) the result would leave the normal floats; softmax weights that small are 0 here. */
    private static final float LOWEST = -87.33654f;
    private static final float LOG2E = 1.44269504088896341f;
    /** 1.5 · 2^23: adding it rounds a float below 2^22 in magnitude to an integer held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    // ln 2 split in two (Cody and Waite), so that x - n·ln 2 stays exact for the n that occur here
    private static final float LN2_HIGH = 0.693359375f;
    private static final float LN2_LOW = -2.12194440e-4f;
    // Cephes' expf polynomial for e^r on |r| <= ln(2)/2: 1 + r + r²·P(r)
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;

    private VectorMath() {}

    /**
     * e^x in every lane, for x <= 0 (softmax arguments after subtracting the maximum), within 2 ulp of the exact value;
     * 0 where x < -87.34 (including -inf).
     */
    public static FloatVector expNonPositive(FloatVector x) {
        VectorMask<Float> vanishing = x.lt(LOWEST);
        FloatVector clamped = x.max(LOWEST);
        FloatVector shifted = clamped.mul(LOG2E).add(ROUNDER);
        FloatVector n = shifted.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(LANES, -LN2_HIGH), clamped);
        r = n.fma(FloatVector.broadcast(LANES, -LN2_LOW), r);
        FloatVector p = r.fma(P0, P1);
        p = p.fma(r, FloatVector.broadcast(LANES, P2));
        p = p.fma(r, FloatVector.broadcast(LANES, P3));
        p = p.fma(r, FloatVector.broadcast(LANES, P4));
        p = p.fma(r, FloatVector.broadcast(LANES, P5));
        FloatVector er = p.mul(r.mul(r)).add(r).add(1f);
        IntVector exponent = shifted.reinterpretAsInts().sub(ROUNDER_BITS).add(127)
                .lanewise(VectorOperators.LSHL, 23);
        return er.mul(exponent.reinterpretAsFloats()).blend(0f, vanishing);
    }

    /** e^x for one x <= 0, the same bits as a lane of {@link #expNonPositive(FloatVector)}: for loop tails. */
    public static float expNonPositive(float x) {
        return expNonPositive(FloatVector.broadcast(LANES, x)).lane(0);
    }

    /** The lanes' sum, added in lane order; {@code scratch} holds at least {@code LANES.length()} floats. */
    public static float sum(FloatVector v, float[] scratch) {
        v.intoArray(scratch, 0);
        float s = scratch[0];
        for (int i = 1; i < LANES.length(); i++) {
            s += scratch[i];
        }
        return s;
    }
}
