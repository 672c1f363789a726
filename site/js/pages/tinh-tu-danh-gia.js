// The province's self-assessment (the form itself is the components' self-assessment, shared with the ministries').
import { startSelfAssessment } from '../components/self-assessment.js';

startSelfAssessment('province');
