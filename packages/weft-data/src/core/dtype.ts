// weft's one vocabulary of element types. Every module that names an element type (a collate option, a
// TensorDataset column, a binary file, a TensorFlow.js conversion) uses `DType` or a subset of it, so that a
// type written once means the same typed array everywhere.

/**
 * An element type, named as in torch and numpy; `bool` is a `Uint8Array` of 0s and 1s.
 *
 * @example
 * ```ts
 * const label: DType = 'int32'; // an Int32Array
 * ```
 */
export type DType = keyof DTypeArrays;

/**
 * The typed array that holds each {@link DType}.
 *
 * @example
 * ```ts
 * type Labels = DTypeArrays['int32']; // Int32Array
 * ```
 */
export interface DTypeArrays {
  /** 32-bit floats. */
  float32: Float32Array;
  /** 64-bit floats (JavaScript's numbers). */
  float64: Float64Array;
  /** 8-bit signed integers. */
  int8: Int8Array;
  /** 16-bit signed integers. */
  int16: Int16Array;
  /** 32-bit signed integers. */
  int32: Int32Array;
  /** 64-bit signed integers, as bigints. */
  bigint64: BigInt64Array;
  /** 8-bit unsigned integers. */
  uint8: Uint8Array;
  /** 16-bit unsigned integers. */
  uint16: Uint16Array;
  /** 32-bit unsigned integers. */
  uint32: Uint32Array;
  /** Booleans as 0 or 1. */
  bool: Uint8Array;
}

/** The constructor of each {@link DType}'s typed array. */
export const DTYPE_ARRAYS: {
  readonly [D in DType]: {
    new (length: number): DTypeArrays[D];
    readonly BYTES_PER_ELEMENT: number;
    readonly name: string;
  };
} = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  bigint64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  bool: Uint8Array,
};
